"""BiFPN neck (EfficientDet, Tan et al. 2020): repeated top-down and bottom-up weighted fusion."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from segdet.api import ConvModule

from ._layers import BiFPNLayer, downsample_to

__all__ = ["BiFPN"]


class BiFPN(nn.Module):
    """Bidirectional feature pyramid with fast normalised fusion, as in EfficientDet.

    Inputs from ``start_level`` on are adapted to ``out_channels`` (1x1 conv + norm where
    widths differ); levels beyond the last input are made by downsampling it (1x1 conv + norm
    if widths differ, then 3x3 stride-2 max pooling, 'same' padded), until ``num_outs`` levels
    exist. ``num_repeats`` :class:`BiFPNLayer` s follow. Any input size works: every
    resampling targets the size of the level it feeds.

    Args:
        in_channels: channels of each backbone output, finest first.
        out_channels: channels of every output level.
        num_outs: output levels. Default 5.
        start_level: first backbone output used. Default 0.
        num_repeats: stacked BiFPN layers. Default 1.
        epsilon: added to the sum of fusion weights. Default 1e-4.
        norm_cfg: norm after every conv. Default ``dict(type='BN', momentum=0.01, eps=1e-3)``.
        act_cfg: activation applied to each fused sum. Default ``dict(type='SiLU')``.
        in_strides: stride of each backbone output (same length as ``in_channels``). The
            neck only reads it to report its own ``strides``; nothing passes it from the
            backbone automatically, so the default assumes the usual ``4, 8, 16, ...``
            (ResNet, Swin). Consecutive used levels must differ by a factor 2.

    Attributes:
        out_channels: ``[out_channels] * num_outs``.
        strides: stride of each output: the used input strides, then doubling.

    Shapes: tuple of ``(B, in_channels[i], H_i, W_i)`` -> tuple of ``num_outs`` maps
    ``(B, out_channels, H_j, W_j)``, the extra ones ``ceil``-halved each time.

    Example::

        >>> neck = BiFPN(in_channels=[16, 32, 64], out_channels=8, num_outs=5)
        >>> feats = [torch.rand(1, c, 32 // 2**i, 32 // 2**i) for i, c in enumerate([16, 32, 64])]
        >>> [tuple(o.shape[-2:]) for o in neck(feats)]
        [(32, 32), (16, 16), (8, 8), (4, 4), (2, 2)]
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        out_channels: int,
        num_outs: int = 5,
        start_level: int = 0,
        num_repeats: int = 1,
        epsilon: float = 1e-4,
        norm_cfg: Mapping[str, Any] | None = {"type": "BN", "momentum": 0.01, "eps": 1e-3},  # noqa: B006
        act_cfg: Mapping[str, Any] | None = {"type": "SiLU"},  # noqa: B006  (never mutated)
        in_strides: Sequence[int] | None = None,
    ) -> None:
        super().__init__()
        in_channels = list(in_channels)
        if not 0 <= start_level < len(in_channels):
            raise ValueError(f"start_level {start_level} must index in_channels {in_channels}")
        used = in_channels[start_level:]
        if num_outs < max(len(used), 2):
            raise ValueError(f"num_outs ({num_outs}) must be >= 2 and >= the {len(used)} inputs used "
                             f"from start_level {start_level}; raise start_level to use fewer inputs")
        if num_repeats < 1:
            raise ValueError(f"num_repeats must be >= 1, got {num_repeats}")
        self.in_channels = in_channels
        self.start_level = start_level
        self.num_outs = num_outs
        self.num_repeats = num_repeats
        self.out_channels: list[int] = [out_channels] * num_outs
        self.strides: list[int] = self._output_strides(in_strides, len(in_channels), start_level, num_outs)

        def adapter(c: int) -> nn.Module:
            if c == out_channels:
                return nn.Identity()
            return ConvModule(c, out_channels, 1, bias=True, norm_cfg=norm_cfg, act_cfg=None)

        self.lateral_convs = nn.ModuleList(adapter(c) for c in used)
        # EfficientDet adapts the backbone maps a second time, separately, for the skip
        # inputs of the first layer's bottom-up path (its p4_down_channel_2, ...).
        self.skip_convs = nn.ModuleList(
            nn.Identity() if i == 0 else adapter(c) for i, c in enumerate(used))
        self.extra_convs = nn.ModuleList()
        if num_outs > len(used):
            self.extra_convs.append(adapter(used[-1]))
        self.layers = nn.ModuleList(
            BiFPNLayer(out_channels, num_outs, epsilon, norm_cfg, act_cfg) for _ in range(num_repeats))

    @staticmethod
    def _output_strides(in_strides: Sequence[int] | None, num_in: int, start: int, num_outs: int) -> list[int]:
        strides = list(in_strides) if in_strides is not None else [2 ** (i + 2) for i in range(num_in)]
        if len(strides) != num_in:
            raise ValueError(f"in_strides {strides} must have one entry per in_channels ({num_in})")
        used = strides[start:]
        if any(b != 2 * a for a, b in zip(used, used[1:])):
            raise ValueError(f"BiFPN needs inputs whose strides double level to level; got {used}")
        return (used + [used[-1] * 2 ** k for k in range(1, num_outs - len(used) + 1)])[:num_outs]

    def forward(self, inputs: Sequence[torch.Tensor]) -> tuple[torch.Tensor, ...]:
        if len(inputs) != len(self.in_channels):
            raise ValueError(f"BiFPN built for {len(self.in_channels)} inputs got {len(inputs)}")
        feats = list(inputs[self.start_level:])
        laterals = [conv(x) for conv, x in zip(self.lateral_convs, feats)]
        skips = [conv(x) for conv, x in zip(self.skip_convs, feats)]
        if self.extra_convs:
            x = self.extra_convs[0](feats[-1])
            for _ in range(self.num_outs - len(feats)):
                h, w = x.shape[-2:]
                x = downsample_to(x, (-(-h // 2), -(-w // 2)))
                laterals.append(x)
                skips.append(x)
        outs = self.layers[0](laterals, skips)
        for layer in self.layers[1:]:
            outs = layer(outs)
        return tuple(outs)

    def fusion_weights(self) -> dict[str, torch.Tensor]:
        """Effective (ReLU'd, normalised) fusion weights of every fusion node, by module name."""
        return {name: m.normalized_weights() for name, m in self.named_modules()
                if hasattr(m, "normalized_weights")}
