"""Distance-IoU loss (Zheng et al., AAAI 2020)."""
from __future__ import annotations

import torch
from torch import Tensor

from .base import EpsBoxLoss

__all__ = ["DIoULoss", "diou_terms", "diou_loss"]


def diou_terms(pred: Tensor, target: Tensor, eps: float = 1e-7) -> tuple[Tensor, Tensor, Tensor]:
    """``(ious, rho2, c2)`` of aligned boxes ``(N, 4)``: IoU, squared distance of the
    centres, squared diagonal of the smallest enclosing box (``eps`` added to union and ``c2``)."""
    lt = torch.max(pred[:, :2], target[:, :2])
    rb = torch.min(pred[:, 2:], target[:, 2:])
    wh = (rb - lt).clamp(min=0)
    overlap = wh[:, 0] * wh[:, 1]
    area_p = (pred[:, 2] - pred[:, 0]) * (pred[:, 3] - pred[:, 1])
    area_t = (target[:, 2] - target[:, 0]) * (target[:, 3] - target[:, 1])
    ious = overlap / (area_p + area_t - overlap + eps)
    enclose_wh = (torch.max(pred[:, 2:], target[:, 2:]) - torch.min(pred[:, :2], target[:, :2])).clamp(min=0)
    c2 = enclose_wh[:, 0] ** 2 + enclose_wh[:, 1] ** 2 + eps
    dx = (target[:, 0] + target[:, 2]) - (pred[:, 0] + pred[:, 2])
    dy = (target[:, 1] + target[:, 3]) - (pred[:, 1] + pred[:, 3])
    rho2 = (dx**2 + dy**2) / 4
    return ious, rho2, c2


def diou_loss(pred: Tensor, target: Tensor, eps: float = 1e-7) -> Tensor:
    """``(N,)`` ``1 - (IoU - rho2 / c2)``."""
    ious, rho2, c2 = diou_terms(pred, target, eps)
    return 1 - (ious - rho2 / c2)


class DIoULoss(EpsBoxLoss):
    """Distance-IoU loss of predicted and target boxes ``(N, 4)`` in ``x1, y1, x2, y2`` form.

    Args:
        eps: added to the union and the enclosing diagonal. Default 1e-6.
        reduction, loss_weight: as :class:`~segdet_losses.base.WeightedLoss` (``'mean'``, 1.0).

    ``forward(pred, target, weight=None, avg_factor=None, reduction_override=None)``;
    ``weight`` is ``(N,)`` or ``(N, 4)`` (then averaged per box).
    """

    def elementwise(self, pred: Tensor, target: Tensor) -> Tensor:
        return diou_loss(pred, target, self.eps)
