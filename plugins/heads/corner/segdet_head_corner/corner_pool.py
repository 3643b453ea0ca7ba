"""Corner pooling (CornerNet) in plain torch: a cumulative max along one axis.

MMCV's ``CornerPool`` is a compiled op; ``torch.cummax`` on the (flipped) map computes the same
values on any device. Direction ``'top'`` gives every position the maximum of itself and
everything *below* it (the scan runs bottom-to-top), ``'left'`` of everything to its *right*,
``'bottom'`` of everything above, ``'right'`` of everything to its left.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from segdet.api import ConvModule

__all__ = ["BiCornerPool", "CornerPool", "corner_pool"]

# direction -> (dimension of a (B, C, H, W) map, whether the scan runs from the far end)
_DIRECTIONS: dict[str, tuple[int, bool]] = {
    "top": (2, True),
    "left": (3, True),
    "bottom": (2, False),
    "right": (3, False),
}
_BN: dict[str, Any] = {"type": "BN", "requires_grad": True}


def corner_pool(x: torch.Tensor, direction: str) -> torch.Tensor:
    """Cumulative max of ``x`` ``(B, C, H, W)`` in ``direction`` (``'top'|'left'|'bottom'|'right'``)."""
    if direction not in _DIRECTIONS:
        raise ValueError(f"corner_pool: direction must be one of {sorted(_DIRECTIONS)}, got {direction!r}")
    dim, reverse = _DIRECTIONS[direction]
    if reverse:
        return torch.cummax(x.flip(dim), dim=dim)[0].flip(dim)
    return torch.cummax(x, dim=dim)[0]


class CornerPool(nn.Module):
    """Module form of :func:`corner_pool` (no parameters, as MMCV's).

    Args:
        mode: ``'top'``, ``'left'``, ``'bottom'`` or ``'right'``.
    """

    def __init__(self, mode: str) -> None:
        super().__init__()
        if mode not in _DIRECTIONS:
            raise ValueError(f"CornerPool: mode must be one of {sorted(_DIRECTIONS)}, got {mode!r}")
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return corner_pool(x, self.mode)


class BiCornerPool(nn.Module):
    """Two corner pools summed, with MMDetection's convs around them.

    ``out = conv2(relu(aftpool_conv(pool1(direction1_conv(x)) + pool2(direction2_conv(x))) + conv1(x)))``

    Args:
        in_channels: input channels.
        directions: the two pooling directions, e.g. ``('top', 'left')``.
        feat_channels: channels of the pooled branch. Default 128.
        out_channels: output channels. Default 128.
        norm_cfg: normalisation layer config. Default BN.

    Shapes: ``(B, in_channels, H, W)`` -> ``(B, out_channels, H, W)``.
    """

    def __init__(self, in_channels: int, directions: Sequence[str], feat_channels: int = 128,
                 out_channels: int = 128, norm_cfg: Mapping[str, Any] = _BN) -> None:
        super().__init__()
        if len(directions) != 2:
            raise ValueError(f"BiCornerPool: needs two directions, got {list(directions)}")
        self.direction1_conv = ConvModule(in_channels, feat_channels, 3, padding=1, norm_cfg=norm_cfg)
        self.direction2_conv = ConvModule(in_channels, feat_channels, 3, padding=1, norm_cfg=norm_cfg)
        self.aftpool_conv = ConvModule(feat_channels, out_channels, 3, padding=1, norm_cfg=norm_cfg, act_cfg=None)
        self.conv1 = ConvModule(in_channels, out_channels, 1, norm_cfg=norm_cfg, act_cfg=None)
        self.conv2 = ConvModule(out_channels, out_channels, 3, padding=1, norm_cfg=norm_cfg)
        self.direction1_pool = CornerPool(directions[0])
        self.direction2_pool = CornerPool(directions[1])
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = self.direction1_pool(self.direction1_conv(x)) + self.direction2_pool(self.direction2_conv(x))
        return self.conv2(self.relu(self.aftpool_conv(pooled) + self.conv1(x)))
