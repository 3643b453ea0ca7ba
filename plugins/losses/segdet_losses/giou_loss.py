"""Generalized IoU loss (Rezatofighi et al., CVPR 2019)."""
from __future__ import annotations

from torch import Tensor

from segdet.api import bbox_overlaps

from .base import BoxLoss

__all__ = ["GIoULoss", "giou_loss"]


def giou_loss(pred: Tensor, target: Tensor, eps: float = 1e-7) -> Tensor:
    """``(N,)`` ``1 - GIoU`` of aligned boxes ``(N, 4)``."""
    return 1 - bbox_overlaps(pred, target, mode="giou", is_aligned=True, eps=eps)


class GIoULoss(BoxLoss):
    """``1 - GIoU`` of predicted and target boxes ``(N, 4)`` in ``x1, y1, x2, y2`` form.

    Args:
        eps: lower bound of union and enclosing area. Default 1e-6.
        reduction: ``'none'``, ``'mean'`` (default) or ``'sum'``.
        loss_weight: factor of the loss. Default 1.0.

    ``forward(pred, target, weight=None, avg_factor=None, reduction_override=None)``;
    ``weight`` is ``(N,)`` or ``(N, 4)`` (then averaged per box).
    """

    def __init__(self, eps: float = 1e-6, reduction: str = "mean", loss_weight: float = 1.0) -> None:
        super().__init__(reduction, loss_weight)
        self.eps = eps

    def elementwise(self, pred: Tensor, target: Tensor) -> Tensor:
        return giou_loss(pred, target, self.eps)
