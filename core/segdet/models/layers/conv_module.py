"""Conv + norm + activation block with MMCV's attribute names (``conv``, ``bn``/``gn``, ``activate``)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from .norm import build_activation_layer, build_norm_layer

__all__ = ["ConvModule"]


class ConvModule(nn.Module):
    """``conv -> norm -> act``; checkpoint keys match MMCV's ``ConvModule``.

    Args:
        in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1:
            as ``nn.Conv2d``.
        bias: ``'auto'`` (default) means a bias only when there is no norm layer.
        conv_cfg: ``None`` or ``dict(type='Conv2d')``; other conv types are not built in.
        norm_cfg: e.g. ``dict(type='BN')`` or ``dict(type='GN', num_groups=32)``; ``None`` for none.
        act_cfg: e.g. ``dict(type='ReLU')`` (default); ``None`` for none.
        inplace: in-place activation where the activation supports it.

    Shapes: ``(N, in_channels, H, W) -> (N, out_channels, H', W')``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        dilation: int | tuple[int, int] = 1,
        groups: int = 1,
        bias: bool | str = "auto",
        conv_cfg: Mapping[str, Any] | None = None,
        norm_cfg: Mapping[str, Any] | None = None,
        act_cfg: Mapping[str, Any] | None = {"type": "ReLU"},  # noqa: B006  (never mutated)
        inplace: bool = True,
    ) -> None:
        super().__init__()
        if conv_cfg is not None and conv_cfg.get("type", "Conv2d") not in ("Conv2d", "Conv"):
            raise ValueError(f"conv_cfg.type {conv_cfg.get('type')!r} is not supported; use Conv2d")
        with_norm = norm_cfg is not None
        use_bias = (not with_norm) if bias == "auto" else bool(bias)
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                              bias=use_bias)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.norm_name: str | None = None
        if with_norm:
            assert norm_cfg is not None
            self.norm_name, norm = build_norm_layer(norm_cfg, out_channels)
            self.add_module(self.norm_name, norm)
        self.activate: nn.Module | None = None
        if act_cfg is not None:
            act = dict(act_cfg)
            act.setdefault("inplace", inplace)
            self.activate = build_activation_layer(act)
        self._init_weights(act_cfg)

    @property
    def norm(self) -> nn.Module | None:
        return getattr(self, self.norm_name) if self.norm_name else None

    def _init_weights(self, act_cfg: Mapping[str, Any] | None) -> None:
        nonlinearity: Any = "leaky_relu" if act_cfg and act_cfg.get("type") == "LeakyReLU" else "relu"
        nn.init.kaiming_normal_(self.conv.weight, mode="fan_out", nonlinearity=nonlinearity)
        if self.conv.bias is not None:
            nn.init.zeros_(self.conv.bias)
        norm: Any = self.norm
        if norm is not None and getattr(norm, "weight", None) is not None:
            nn.init.ones_(norm.weight)
            nn.init.zeros_(norm.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        if self.norm_name:
            x = getattr(self, self.norm_name)(x)
        if self.activate is not None:
            x = self.activate(x)
        return x
