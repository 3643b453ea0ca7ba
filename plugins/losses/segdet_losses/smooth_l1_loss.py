"""Smooth L1 (Huber-like) regression loss."""
from __future__ import annotations

import torch
from torch import Tensor

from .base import WeightedLoss

__all__ = ["SmoothL1Loss", "smooth_l1_loss"]


def smooth_l1_loss(pred: Tensor, target: Tensor, beta: float = 1.0) -> Tensor:
    """Element-wise ``0.5 * d**2 / beta`` if ``d < beta`` else ``d - 0.5 * beta``, ``d = |pred - target|``."""
    if beta <= 0:
        raise ValueError(f"smooth_l1_loss: beta must be > 0, got {beta}")
    if target.numel() == 0:
        return pred * 0
    diff = torch.abs(pred - target)
    return torch.where(diff < beta, 0.5 * diff * diff / beta, diff - 0.5 * beta)


class SmoothL1Loss(WeightedLoss):
    """Smooth L1 loss.

    Args:
        beta: where the loss turns from quadratic to linear. Default 1.0.
        reduction: ``'none'``, ``'mean'`` (default) or ``'sum'``.
        loss_weight: factor of the loss. Default 1.0.

    ``forward(pred, target, weight=None, avg_factor=None, reduction_override=None)``
    with ``pred``, ``target`` and ``weight`` of the same shape (e.g. ``(N, 4)``).
    """

    def __init__(self, beta: float = 1.0, reduction: str = "mean", loss_weight: float = 1.0) -> None:
        super().__init__(reduction, loss_weight)
        if beta <= 0:
            raise ValueError(f"SmoothL1Loss: beta must be > 0, got {beta}")
        self.beta = beta

    def elementwise(self, pred: Tensor, target: Tensor) -> Tensor:
        return smooth_l1_loss(pred, target, self.beta)
