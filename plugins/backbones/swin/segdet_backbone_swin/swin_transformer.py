"""Swin Transformer backbone with MMDetection's parameter names, so its checkpoints load strictly."""
from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from segdet.api import build_norm_layer, freeze_modules, load_state_dict_file

from ._attention import WindowMSA
from ._blocks import SwinBlockSequence
from ._embed import PatchEmbed, PatchMerging
from .converters import convert_official_swin

__all__ = ["SwinTransformer"]


class SwinTransformer(nn.Module):
    """Swin Transformer (Liu et al., 2021) as a detection / segmentation backbone.

    Shifted-window attention with relative position bias. Any input size works: the image is
    padded to a multiple of ``patch_size`` and every attention map to whole windows.
    Parameter and buffer names follow MMDetection's ``SwinTransformer`` exactly.

    Args:
        pretrain_img_size: image size of pretraining (int or (h, w)); sizes the absolute
            position embedding. Default 224.
        in_channels: image channels. Default 3.
        embed_dims: channels ``C`` of the first stage; stage ``i`` has ``C * 2**i``. Default 96.
        patch_size: side of the non-overlapping patch embedding. Default 4.
        window_size: attention window side. Default 7.
        mlp_ratio: MLP hidden width over ``embed_dims``. Default 4.
        depths: blocks per stage. Default (2, 2, 6, 2).
        num_heads: attention heads per stage. Default (3, 6, 12, 24).
        strides: stride of each stage relative to the previous one; ``strides[0]`` must equal
            ``patch_size`` and the others 2. Default (4, 2, 2, 2).
        out_indices: stages whose outputs are returned, each through its own ``norm{i}``.
        qkv_bias: bias in the qkv projections. Default True.
        qk_scale: attention scale; ``None`` means ``head_dims ** -0.5``.
        patch_norm: LayerNorm after patch embedding and inside patch merging. Default True.
        drop_rate: dropout after position embedding, projections and MLPs. Default 0.
        attn_drop_rate: dropout of attention weights. Default 0.
        drop_path_rate: stochastic depth, rising linearly over all blocks to this. Default 0.1.
        use_abs_pos_embed: learned absolute position embedding (bicubically resized to other
            input sizes). Default False. ``ape`` is an alias.
        act_cfg: MLP activation. Default ``dict(type='GELU')``.
        norm_cfg: norm layers. Default ``dict(type='LN')``.
        with_cp: gradient checkpointing of every block. Default False. ``use_checkpoint`` is an alias.
        pretrained: deprecated; a checkpoint path, same as ``init_cfg=dict(type='Pretrained', ...)``.
        convert_weights: the checkpoint uses the official Swin release's keys; convert them.
        frozen_stages: freeze the patch embedding (``>= 0``) and stages ``1..frozen_stages``
            (with their output norms); -1 freezes nothing.
        init_cfg: ``dict(type='Pretrained', checkpoint=path_or_url, prefix=None)``, loaded by
            :meth:`init_weights` (not at construction); keys under ``backbone.`` are taken when
            present (a detector's checkpoint).

    Attributes:
        out_channels: channels of each output, e.g. ``[96, 192, 384, 768]``.
        strides: stride of each output, e.g. ``[4, 8, 16, 32]``.

    Shapes: ``(B, in_channels, H, W)`` -> tuple of ``(B, out_channels[k], ceil(H/strides[k]), ...)``.

    Example::

        >>> m = SwinTransformer(embed_dims=16, depths=(1, 1, 2, 1), num_heads=(1, 2, 4, 8))
        >>> [tuple(o.shape) for o in m(torch.rand(1, 3, 50, 70))]
        [(1, 16, 13, 18), (1, 32, 7, 9), (1, 64, 4, 5), (1, 128, 2, 3)]
    """

    def __init__(
        self,
        pretrain_img_size: int | Sequence[int] = 224,
        in_channels: int = 3,
        embed_dims: int = 96,
        patch_size: int = 4,
        window_size: int = 7,
        mlp_ratio: int = 4,
        depths: Sequence[int] = (2, 2, 6, 2),
        num_heads: Sequence[int] = (3, 6, 12, 24),
        strides: Sequence[int] = (4, 2, 2, 2),
        out_indices: Sequence[int] = (0, 1, 2, 3),
        qkv_bias: bool = True,
        qk_scale: float | None = None,
        patch_norm: bool = True,
        drop_rate: float = 0.0,
        attn_drop_rate: float = 0.0,
        drop_path_rate: float = 0.1,
        use_abs_pos_embed: bool = False,
        act_cfg: Mapping[str, Any] = {"type": "GELU"},  # noqa: B006  (never mutated)
        norm_cfg: Mapping[str, Any] = {"type": "LN"},  # noqa: B006
        with_cp: bool = False,
        pretrained: str | None = None,
        convert_weights: bool = False,
        frozen_stages: int = -1,
        init_cfg: Mapping[str, Any] | None = None,
        ape: bool | None = None,
        use_checkpoint: bool | None = None,
    ) -> None:
        super().__init__()
        use_abs_pos_embed = _alias(use_abs_pos_embed, False, ape, "use_abs_pos_embed", "ape")
        with_cp = _alias(with_cp, False, use_checkpoint, "with_cp", "use_checkpoint")
        num_layers = len(depths)
        if len(num_heads) != num_layers or len(strides) != num_layers:
            raise ValueError(f"depths {tuple(depths)}, num_heads {tuple(num_heads)} and strides "
                             f"{tuple(strides)} must have one entry per stage")
        if strides[0] != patch_size:
            raise ValueError(f"strides[0] ({strides[0]}) must equal patch_size ({patch_size}): "
                             "the patch embedding does not overlap")
        if any(i not in range(num_layers) for i in out_indices):
            raise ValueError(f"out_indices {tuple(out_indices)} must lie in range({num_layers})")
        if pretrained is not None:
            if init_cfg is not None:
                raise ValueError("give either pretrained (deprecated) or init_cfg, not both")
            init_cfg = {"type": "Pretrained", "checkpoint": pretrained}
        self.init_cfg = dict(init_cfg) if init_cfg is not None else None
        self.convert_weights = convert_weights
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.use_abs_pos_embed = use_abs_pos_embed
        self.stage_strides = tuple(strides)

        self.patch_embed = PatchEmbed(in_channels, embed_dims, patch_size,
                                      norm_cfg=norm_cfg if patch_norm else None)
        if use_abs_pos_embed:
            size = (pretrain_img_size, pretrain_img_size) if isinstance(pretrain_img_size, int) \
                else tuple(pretrain_img_size)
            self.pos_grid = (size[0] // patch_size, size[1] // patch_size)
            self.absolute_pos_embed = nn.Parameter(
                torch.zeros(1, self.pos_grid[0] * self.pos_grid[1], embed_dims))
        self.drop_after_pos = nn.Dropout(drop_rate)

        rates = torch.linspace(0, drop_path_rate, sum(depths)).tolist()
        self.stages = nn.ModuleList()
        channels = embed_dims
        for i in range(num_layers):
            downsample = None
            if i < num_layers - 1:
                downsample = PatchMerging(channels, 2 * channels, stride=strides[i + 1],
                                          norm_cfg=norm_cfg if patch_norm else None)
            self.stages.append(SwinBlockSequence(
                channels, num_heads[i], int(mlp_ratio * channels), depths[i], window_size,
                qkv_bias=qkv_bias, qk_scale=qk_scale, drop_rate=drop_rate,
                attn_drop_rate=attn_drop_rate, drop_path_rate=rates[sum(depths[:i]):sum(depths[:i + 1])],
                downsample=downsample, act_cfg=act_cfg, norm_cfg=norm_cfg, with_cp=with_cp))
            if downsample is not None:
                channels = downsample.out_channels
        self.num_features = [embed_dims * 2**i for i in range(num_layers)]
        for i in self.out_indices:
            self.add_module(f"norm{i}", build_norm_layer(norm_cfg, self.num_features[i])[1])

        self.out_channels: list[int] = [self.num_features[i] for i in self.out_indices]
        all_strides = [math.prod(strides[:i + 1]) for i in range(num_layers)]
        self.strides: list[int] = [all_strides[i] for i in self.out_indices]
        self._default_init()
        self._freeze_stages()

    # ------------------------------------------------------------------ weights
    def init_weights(self) -> None:
        """Re-initialise, then load the ``init_cfg`` checkpoint if there is one.

        Training calls this once before the first iteration (as MMDetection does);
        construction only initialises randomly and reads no file.
        """
        self._default_init()
        if self.init_cfg is None:
            return
        if self.init_cfg.get("type") != "Pretrained" or "checkpoint" not in self.init_cfg:
            raise ValueError(f"SwinTransformer init_cfg must be dict(type='Pretrained', checkpoint=...), "
                             f"got {self.init_cfg}")
        self.load_checkpoint(str(self.init_cfg["checkpoint"]), prefix=self.init_cfg.get("prefix"))

    def _default_init(self) -> None:
        """Truncated-normal Linear weights and bias tables (std 0.02), unit LayerNorms."""
        if self.use_abs_pos_embed:
            nn.init.trunc_normal_(self.absolute_pos_embed, std=0.02)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, WindowMSA):
                nn.init.trunc_normal_(m.relative_position_bias_table, std=0.02)

    def load_checkpoint(self, checkpoint: str, prefix: str | None = None) -> tuple[list[str], list[str]]:
        """Load a Swin checkpoint (segdet / MMDetection keys, or the official release's if
        ``convert_weights``), resizing bias tables and the position embedding as needed.

        Args:
            checkpoint: local path or reachable URL (cached by ``segdet.models.weights``).
            prefix: keep only keys under it, stripped; by default ``backbone.`` when the
                checkpoint is a whole detector's / segmentor's.

        Returns ``(missing_keys, unexpected_keys)``; a warning names them when not empty.
        """
        state = load_state_dict_file(checkpoint)
        if self.convert_weights:
            state = convert_official_swin(state)
        if prefix is None and any(k.startswith("backbone.") for k in state):
            prefix = "backbone."
        if prefix:
            prefix = prefix if prefix.endswith(".") else prefix + "."
            state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        state = self._adapt_shapes(dict(state))
        result = self.load_state_dict(state, strict=False)
        if result.missing_keys or result.unexpected_keys:
            warnings.warn(f"SwinTransformer: loading {checkpoint}: missing keys {result.missing_keys}, "
                          f"unexpected keys {result.unexpected_keys}", stacklevel=2)
        return list(result.missing_keys), list(result.unexpected_keys)

    def _adapt_shapes(self, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        own = self.state_dict()
        for key, table in list(state.items()):
            if key.endswith("relative_position_index") and key in own and table.shape != own[key].shape:
                state[key] = own[key]  # a constant of the window size; the table below is what is learned
            elif "relative_position_bias_table" in key and key in own and table.shape != own[key].shape:
                if table.shape[1] != own[key].shape[1]:
                    warnings.warn(f"SwinTransformer: {key} has {table.shape[1]} heads in the checkpoint, "
                                  f"{own[key].shape[1]} in the model; not loaded", stacklevel=3)
                    del state[key]
                    continue
                s1, s2 = math.isqrt(table.shape[0]), math.isqrt(own[key].shape[0])
                grid = table.t().reshape(1, -1, s1, s1)
                state[key] = F.interpolate(grid, size=(s2, s2), mode="bicubic").reshape(-1, s2 * s2).t()
        pos = state.get("absolute_pos_embed")
        if pos is not None and self.use_abs_pos_embed:
            if pos.dim() == 4:  # (1, C, h, w) layout
                pos = pos.flatten(2).transpose(1, 2)
            if pos.shape != self.absolute_pos_embed.shape:  # another pretraining size (square grid)
                side = math.isqrt(pos.shape[1])
                grid = pos.transpose(1, 2).reshape(1, -1, side, side)
                pos = F.interpolate(grid, size=self.pos_grid, mode="bicubic").flatten(2).transpose(1, 2)
            state["absolute_pos_embed"] = pos
        return state

    # ------------------------------------------------------------------ freezing
    def _freeze_stages(self) -> None:
        if self.frozen_stages >= 0:
            frozen: list[nn.Module] = [self.patch_embed, self.drop_after_pos]
            if self.use_abs_pos_embed:
                self.absolute_pos_embed.requires_grad = False
        else:
            frozen = []
        for i in range(1, self.frozen_stages + 1):
            if i - 1 in self.out_indices:
                frozen.append(getattr(self, f"norm{i - 1}"))
            frozen.append(self.stages[i - 1])
        freeze_modules(frozen)

    def train(self, mode: bool = True) -> SwinTransformer:
        super().train(mode)
        self._freeze_stages()
        return self

    # ------------------------------------------------------------------ forward
    def _pos_embed(self, hw: tuple[int, int]) -> torch.Tensor:
        pos = self.absolute_pos_embed
        if hw == self.pos_grid:
            return pos
        grid = pos.transpose(1, 2).reshape(1, -1, *self.pos_grid)
        return F.interpolate(grid, size=hw, mode="bicubic", align_corners=False).flatten(2).transpose(1, 2)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        x, hw = self.patch_embed(x)
        if self.use_abs_pos_embed:
            x = x + self._pos_embed(hw)
        x = self.drop_after_pos(x)
        outs = []
        for i, stage in enumerate(self.stages):
            x, hw, out, out_hw = stage(x, hw)
            if i in self.out_indices:
                out = getattr(self, f"norm{i}")(out)
                outs.append(out.view(-1, *out_hw, self.num_features[i]).permute(0, 3, 1, 2).contiguous())
        return tuple(outs)


def _alias(value: bool, default: bool, alias: bool | None, name: str, alias_name: str) -> bool:
    if alias is None:
        return value
    if value != default and value != alias:
        raise ValueError(f"{name}={value} and its alias {alias_name}={alias} disagree; give one")
    return bool(alias)
