"""Stand-in components for segmentation tests: a tiny backbone and a cross-entropy loss,
registered in-process so these tests do not depend on other plugins being installed."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from segdet.registry import register, unregister


class SegTestBackbone(nn.Module):
    """Two stages. ``pointwise=True``: 1x1 convs at stride 1, so every output pixel depends on its
    input pixel only (then sliding-window and flipped inference must equal whole inference)."""

    def __init__(self, in_channels: int = 3, width: int = 8, pointwise: bool = False) -> None:
        super().__init__()
        k, s, p = (1, 1, 0) if pointwise else (3, 2, 1)
        self.stage1 = nn.Sequential(nn.Conv2d(in_channels, width, k, s, p), nn.ReLU())
        self.stage2 = nn.Sequential(nn.Conv2d(width, 2 * width, k, s, p), nn.ReLU())
        self.out_channels = [width, 2 * width]
        self.strides = [s, s * s]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        a = self.stage1(x)
        return a, self.stage2(a)


class SegTestCE(nn.Module):
    """Pixel cross-entropy with MMSegmentation's call signature."""

    def __init__(self, loss_weight: float = 1.0, loss_name: str = "loss_ce") -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        return self._loss_name

    def forward(self, cls_score: torch.Tensor, label: torch.Tensor, weight: Any = None,
                ignore_index: int = 255) -> torch.Tensor:
        loss = F.cross_entropy(cls_score, label, ignore_index=ignore_index, reduction="none")
        if weight is not None:
            loss = loss * weight
        valid = (label != ignore_index).sum().clamp(min=1)
        return self.loss_weight * loss.sum() / valid


@pytest.fixture(autouse=True)
def seg_standins() -> Iterator[None]:
    register("backbones", "SegTestBackbone", force=True)(SegTestBackbone)
    register("losses", "SegTestCE", force=True)(SegTestCE)
    yield
    unregister("backbones", "SegTestBackbone")
    unregister("losses", "SegTestCE")
