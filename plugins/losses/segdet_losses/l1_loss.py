"""L1 regression loss."""
from __future__ import annotations

import torch
from torch import Tensor

from .base import WeightedLoss

__all__ = ["L1Loss", "l1_loss"]


def l1_loss(pred: Tensor, target: Tensor) -> Tensor:
    """Element-wise ``|pred - target|``."""
    if target.numel() == 0:
        return pred * 0
    return torch.abs(pred - target)


class L1Loss(WeightedLoss):
    """L1 loss.

    Args:
        reduction: ``'none'``, ``'mean'`` (default) or ``'sum'``.
        loss_weight: factor of the loss. Default 1.0.

    ``forward(pred, target, weight=None, avg_factor=None, reduction_override=None)``
    with ``pred``, ``target`` and ``weight`` of the same shape.
    """

    def __init__(self, reduction: str = "mean", loss_weight: float = 1.0) -> None:
        super().__init__(reduction, loss_weight)

    def elementwise(self, pred: Tensor, target: Tensor) -> Tensor:
        return l1_loss(pred, target)
