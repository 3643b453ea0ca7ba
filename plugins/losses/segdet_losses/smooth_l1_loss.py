"""Smooth L1 (Huber-like) regression loss."""
from __future__ import annotations

from typing import Union

import torch
from torch import Tensor, nn

from .utils import check_reduction, resolve_reduction, weight_reduce_loss

__all__ = ["SmoothL1Loss", "smooth_l1_loss"]


def smooth_l1_loss(pred: Tensor, target: Tensor, beta: float = 1.0) -> Tensor:
    """Element-wise ``0.5 * d**2 / beta`` if ``d < beta`` else ``d - 0.5 * beta``, ``d = |pred - target|``."""
    if beta <= 0:
        raise ValueError(f"smooth_l1_loss: beta must be > 0, got {beta}")
    if target.numel() == 0:
        return pred * 0
    diff = torch.abs(pred - target)
    return torch.where(diff < beta, 0.5 * diff * diff / beta, diff - 0.5 * beta)


class SmoothL1Loss(nn.Module):
    """Smooth L1 loss.

    Args:
        beta: where the loss turns from quadratic to linear. Default 1.0.
        reduction: ``'none'``, ``'mean'`` (default) or ``'sum'``.
        loss_weight: factor of the loss. Default 1.0.

    ``forward(pred, target, weight=None, avg_factor=None, reduction_override=None)``
    with ``pred``, ``target`` and ``weight`` of the same shape (e.g. ``(N, 4)``).
    """

    def __init__(self, beta: float = 1.0, reduction: str = "mean", loss_weight: float = 1.0) -> None:
        super().__init__()
        if beta <= 0:
            raise ValueError(f"SmoothL1Loss: beta must be > 0, got {beta}")
        self.beta = beta
        self.reduction = check_reduction(reduction, "SmoothL1Loss")
        self.loss_weight = loss_weight

    def forward(
        self,
        pred: Tensor,
        target: Tensor,
        weight: Tensor | None = None,
        avg_factor: Union[float, Tensor] | None = None,
        reduction_override: str | None = None,
    ) -> Tensor:
        reduction = resolve_reduction(self.reduction, reduction_override, "SmoothL1Loss")
        loss = smooth_l1_loss(pred, target, self.beta)
        return self.loss_weight * weight_reduce_loss(loss, weight, reduction, avg_factor)
