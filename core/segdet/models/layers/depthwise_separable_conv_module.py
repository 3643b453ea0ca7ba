"""Depthwise conv + pointwise conv, each a :class:`ConvModule` (MMCV's ``DepthwiseSeparableConvModule``)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Union

import torch
from torch import nn

from .conv_module import ConvModule

__all__ = ["DepthwiseSeparableConvModule"]

_Cfg = Union[Mapping[str, Any], None, str]


def _pick(value: _Cfg, fallback: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    # 'default' means: the module-wide norm_cfg / act_cfg
    return fallback if isinstance(value, str) and value == "default" else value  # type: ignore[return-value]


class DepthwiseSeparableConvModule(nn.Module):
    """A ``groups=in_channels`` conv then a 1x1 conv, with MMCV's keys ``depthwise_conv.*``,
    ``pointwise_conv.*`` so MMSegmentation's DeepLabV3+ checkpoints load.

    Args:
        in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1: of the depthwise conv
            (the pointwise conv is 1x1, ``in_channels -> out_channels``).
        norm_cfg: norm of both convs unless overridden (default ``None``).
        act_cfg: activation of both convs unless overridden (default ``dict(type='ReLU')``).
        dw_norm_cfg, dw_act_cfg, pw_norm_cfg, pw_act_cfg: per-conv overrides; ``'default'`` (default)
            takes ``norm_cfg`` / ``act_cfg``.
        conv_cfg: as :class:`ConvModule` (default ``None``).

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
        norm_cfg: Mapping[str, Any] | None = None,
        act_cfg: Mapping[str, Any] | None = {"type": "ReLU"},  # noqa: B006  (never mutated)
        dw_norm_cfg: _Cfg = "default",
        dw_act_cfg: _Cfg = "default",
        pw_norm_cfg: _Cfg = "default",
        pw_act_cfg: _Cfg = "default",
        conv_cfg: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.depthwise_conv = ConvModule(
            in_channels, in_channels, kernel_size, stride=stride, padding=padding, dilation=dilation,
            groups=in_channels, conv_cfg=conv_cfg, norm_cfg=_pick(dw_norm_cfg, norm_cfg),
            act_cfg=_pick(dw_act_cfg, act_cfg))
        self.pointwise_conv = ConvModule(
            in_channels, out_channels, 1, conv_cfg=conv_cfg, norm_cfg=_pick(pw_norm_cfg, norm_cfg),
            act_cfg=_pick(pw_act_cfg, act_cfg))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise_conv(self.depthwise_conv(x))
