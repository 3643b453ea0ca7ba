"""Swin blocks and stages with MMDetection's module names (``norm1``, ``attn``, ``norm2``, ``ffn``)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.utils.checkpoint as cp
from torch import nn

from segdet.api import build_activation_layer, build_norm_layer

from ._attention import DropPath, ShiftWindowMSA
from ._embed import PatchMerging

__all__ = ["FFN", "SwinBlock", "SwinBlockSequence"]


class FFN(nn.Module):
    """Two-layer MLP; ``layers.0.0`` and ``layers.1`` are the linear layers, as MMCV's ``FFN``.

    Shapes: ``(..., C) -> (..., C)``; the caller adds the identity.
    """

    def __init__(self, embed_dims: int, feedforward_channels: int, act_cfg: Mapping[str, Any],
                 ffn_drop: float = 0.0, drop_path_rate: float = 0.0) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Sequential(nn.Linear(embed_dims, feedforward_channels), build_activation_layer(act_cfg),
                          nn.Dropout(ffn_drop)),
            nn.Linear(feedforward_channels, embed_dims),
            nn.Dropout(ffn_drop),
        )
        self.dropout_layer = DropPath(drop_path_rate)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout_layer(self.layers(x))


class SwinBlock(nn.Module):
    """``x + attn(norm1(x))``, then ``x + ffn(norm2(x))``.

    Args:
        embed_dims, num_heads, window_size: attention sizes.
        feedforward_channels: hidden width of the MLP.
        shift: shifted windows (shift ``window_size // 2``). Default ``False``.
        qkv_bias, qk_scale, drop_rate, attn_drop_rate, drop_path_rate, act_cfg, norm_cfg:
            as :class:`SwinTransformer`.
        with_cp: recompute this block in backward (gradient checkpointing) to save memory.

    Shapes: ``x (B, H*W, C)``, ``hw_shape = (H, W)`` -> ``(B, H*W, C)``.
    """

    def __init__(self, embed_dims: int, num_heads: int, feedforward_channels: int, window_size: int = 7,
                 shift: bool = False, qkv_bias: bool = True, qk_scale: float | None = None,
                 drop_rate: float = 0.0, attn_drop_rate: float = 0.0, drop_path_rate: float = 0.0,
                 act_cfg: Mapping[str, Any] = {"type": "GELU"},  # noqa: B006  (never mutated)
                 norm_cfg: Mapping[str, Any] = {"type": "LN"},  # noqa: B006
                 with_cp: bool = False) -> None:
        super().__init__()
        self.with_cp = with_cp
        self.norm1 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.attn = ShiftWindowMSA(embed_dims, num_heads, window_size,
                                   shift_size=window_size // 2 if shift else 0, qkv_bias=qkv_bias,
                                   qk_scale=qk_scale, attn_drop_rate=attn_drop_rate,
                                   proj_drop_rate=drop_rate, drop_path_rate=drop_path_rate)
        self.norm2 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.ffn = FFN(embed_dims, feedforward_channels, act_cfg, ffn_drop=drop_rate,
                       drop_path_rate=drop_path_rate)

    def _inner_forward(self, x: torch.Tensor, hw_shape: tuple[int, int]) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), hw_shape)
        return x + self.ffn(self.norm2(x))

    def forward(self, x: torch.Tensor, hw_shape: tuple[int, int]) -> torch.Tensor:
        if self.with_cp and x.requires_grad:
            out: torch.Tensor = cp.checkpoint(self._inner_forward, x, hw_shape, use_reentrant=False)
            return out
        return self._inner_forward(x, hw_shape)


class SwinBlockSequence(nn.Module):
    """One stage: ``depth`` blocks alternating plain and shifted windows, then an optional
    :class:`PatchMerging` (``downsample``).

    ``forward(x, hw_shape)`` returns ``(x_down, down_hw_shape, x, hw_shape)``: the input of the
    next stage and this stage's output (before downsampling).
    """

    def __init__(self, embed_dims: int, num_heads: int, feedforward_channels: int, depth: int,
                 window_size: int = 7, qkv_bias: bool = True, qk_scale: float | None = None,
                 drop_rate: float = 0.0, attn_drop_rate: float = 0.0,
                 drop_path_rate: float | Sequence[float] = 0.0, downsample: PatchMerging | None = None,
                 act_cfg: Mapping[str, Any] = {"type": "GELU"},  # noqa: B006
                 norm_cfg: Mapping[str, Any] = {"type": "LN"},  # noqa: B006
                 with_cp: bool = False) -> None:
        super().__init__()
        rates = list(drop_path_rate) if isinstance(drop_path_rate, Sequence) else [drop_path_rate] * depth
        if len(rates) != depth:
            raise ValueError(f"{len(rates)} drop path rates for {depth} blocks")
        self.blocks = nn.ModuleList(
            SwinBlock(embed_dims, num_heads, feedforward_channels, window_size, shift=i % 2 == 1,
                      qkv_bias=qkv_bias, qk_scale=qk_scale, drop_rate=drop_rate,
                      attn_drop_rate=attn_drop_rate, drop_path_rate=rates[i], act_cfg=act_cfg,
                      norm_cfg=norm_cfg, with_cp=with_cp)
            for i in range(depth)
        )
        self.downsample = downsample

    def forward(self, x: torch.Tensor, hw_shape: tuple[int, int]
                ) -> tuple[torch.Tensor, tuple[int, int], torch.Tensor, tuple[int, int]]:
        for block in self.blocks:
            x = block(x, hw_shape)
        if self.downsample is None:
            return x, hw_shape, x, hw_shape
        x_down, down_hw = self.downsample(x, hw_shape)
        return x_down, down_hw, x, hw_shape
