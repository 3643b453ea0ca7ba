"""Generalized IoU loss (Rezatofighi et al., CVPR 2019)."""
from __future__ import annotations

from torch import Tensor

from segdet.api import bbox_overlaps

from .base import EpsBoxLoss

__all__ = ["GIoULoss", "giou_loss"]


def giou_loss(pred: Tensor, target: Tensor, eps: float = 1e-7) -> Tensor:
    """``(N,)`` ``1 - GIoU`` of aligned boxes ``(N, 4)``."""
    return 1 - bbox_overlaps(pred, target, mode="giou", is_aligned=True, eps=eps)


class GIoULoss(EpsBoxLoss):
    """``1 - GIoU`` of predicted and target boxes ``(N, 4)`` in ``x1, y1, x2, y2`` form.

    Args:
        eps: lower bound of union and enclosing area. Default 1e-6.
        reduction, loss_weight: as :class:`~segdet_losses.base.WeightedLoss` (``'mean'``, 1.0).

    ``forward(pred, target, weight=None, avg_factor=None, reduction_override=None)``;
    ``weight`` is ``(N,)`` or ``(N, 4)`` (then averaged per box).
    """

    def elementwise(self, pred: Tensor, target: Tensor) -> Tensor:
        return giou_loss(pred, target, self.eps)
