"""Building blocks of BiFPN: fast normalised fusion, separable convs, resampling, one BiFPN layer."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from segdet.api import ConvModule, build_activation_layer

__all__ = ["WeightedFusion", "SeparableConv", "BiFPNLayer", "downsample_to", "upsample_to"]


def upsample_to(x: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """Nearest upsampling to exactly ``size`` (x2 for even maps, and right for odd ones)."""
    return F.interpolate(x, size=tuple(size), mode="nearest")


def downsample_to(x: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """3x3 stride-2 max pooling with TensorFlow's 'same' padding (EfficientDet's), giving
    ``ceil(H/2) x ceil(W/2)``; resized (nearest) when the next level has another size."""
    h, w = x.shape[-2:]
    pad_h = max((-(-h // 2) - 1) * 2 + 3 - h, 0)
    pad_w = max((-(-w // 2) - 1) * 2 + 3 - w, 0)
    if pad_h or pad_w:
        x = F.pad(x, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2), value=float("-inf"))
    x = F.max_pool2d(x, 3, 2)
    if tuple(x.shape[-2:]) != tuple(size):
        x = F.interpolate(x, size=tuple(size), mode="nearest")
    return x


class WeightedFusion(nn.Module):
    """Fast normalised fusion: ``sum_i w_i x_i / (sum_j w_j + epsilon)`` with ``w = relu(weight)``.

    The ReLU keeps every effective weight non-negative whatever the optimiser does to
    ``weight`` (initialised to ones).
    """

    def __init__(self, num_inputs: int, epsilon: float = 1e-4) -> None:
        super().__init__()
        self.epsilon = epsilon
        self.weight = nn.Parameter(torch.ones(num_inputs))

    def normalized_weights(self) -> torch.Tensor:
        w = F.relu(self.weight)
        return w / (w.sum() + self.epsilon)

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        if len(inputs) != self.weight.numel():
            raise ValueError(f"fusion of {self.weight.numel()} inputs got {len(inputs)}")
        w = self.normalized_weights()
        out = w[0] * inputs[0]
        for i in range(1, len(inputs)):
            out = out + w[i] * inputs[i]
        return out


class SeparableConv(nn.Module):
    """``act -> depthwise 3x3 -> pointwise 1x1 (with bias) -> norm``, EfficientDet's conv after
    each fusion (the activation acts on the fused sum)."""

    def __init__(self, channels: int, norm_cfg: Mapping[str, Any] | None,
                 act_cfg: Mapping[str, Any] | None) -> None:
        super().__init__()
        self.act = build_activation_layer(act_cfg) if act_cfg is not None else None
        self.depthwise_conv = nn.Conv2d(channels, channels, 3, padding=1, groups=channels, bias=False)
        self.pointwise_conv = ConvModule(channels, channels, 1, bias=True, norm_cfg=norm_cfg, act_cfg=None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.act is not None:
            x = self.act(x)
        return self.pointwise_conv(self.depthwise_conv(x))


class BiFPNLayer(nn.Module):
    """One BiFPN layer over ``num_levels`` maps of ``channels`` channels, finest first.

    Top-down: ``td[L-1] = in[L-1]``, ``td[i] = conv(fuse(in[i], up(td[i+1])))``.
    Bottom-up: ``out[0] = td[0]``, ``out[i] = conv(fuse(skip[i], td[i], down(out[i-1])))`` for
    the middle levels and ``out[L-1] = conv(fuse(skip[L-1], down(out[L-2])))`` at the top,
    where ``skip`` is ``in`` unless given (EfficientDet's first layer adapts it separately).
    """

    def __init__(self, channels: int, num_levels: int, epsilon: float = 1e-4,
                 norm_cfg: Mapping[str, Any] | None = None, act_cfg: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        if num_levels < 2:
            raise ValueError(f"a BiFPN layer needs at least 2 levels, got {num_levels}")
        self.num_levels = num_levels
        # index i of td_* is level i (levels 0..L-2); index i of bu_* is level i+1
        self.td_fusions = nn.ModuleList(WeightedFusion(2, epsilon) for _ in range(num_levels - 1))
        self.td_convs = nn.ModuleList(SeparableConv(channels, norm_cfg, act_cfg) for _ in range(num_levels - 1))
        self.bu_fusions = nn.ModuleList(
            WeightedFusion(3 if level < num_levels - 1 else 2, epsilon) for level in range(1, num_levels))
        self.bu_convs = nn.ModuleList(SeparableConv(channels, norm_cfg, act_cfg) for _ in range(num_levels - 1))

    def forward(self, inputs: Sequence[torch.Tensor],
                skips: Sequence[torch.Tensor] | None = None) -> list[torch.Tensor]:
        top = self.num_levels - 1
        if len(inputs) != self.num_levels:
            raise ValueError(f"BiFPN layer of {self.num_levels} levels got {len(inputs)} maps")
        skips = inputs if skips is None else skips
        td: list[torch.Tensor] = [inputs[top]]
        for level in range(top - 1, -1, -1):
            up = upsample_to(td[-1], inputs[level].shape[-2:])
            td.append(self.td_convs[level](self.td_fusions[level]([inputs[level], up])))
        td.reverse()
        outs = [td[0]]
        for level in range(1, top + 1):
            down = downsample_to(outs[-1], inputs[level].shape[-2:])
            parts = [skips[level], td[level], down] if level < top else [skips[level], down]
            outs.append(self.bu_convs[level - 1](self.bu_fusions[level - 1](parts)))
        return outs
