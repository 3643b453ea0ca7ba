"""Complete-IoU loss (Zheng et al., AAAI 2020)."""
from __future__ import annotations

import math

import torch
from torch import Tensor

from .base import EpsBoxLoss
from .diou_loss import diou_terms

__all__ = ["CIoULoss", "ciou_loss"]


def ciou_loss(pred: Tensor, target: Tensor, eps: float = 1e-7) -> Tensor:
    """``(N,)`` ``1 - clamp(IoU - rho2 / c2 - alpha * v, -1, 1)`` with the aspect term
    ``v = 4 / pi**2 * (atan(w_t / h_t) - atan(w_p / h_p))**2`` and
    ``alpha = [IoU > 0.5] * v / (1 - IoU + v)`` (no gradient through ``alpha``)."""
    ious, rho2, c2 = diou_terms(pred, target, eps)
    w1, h1 = pred[:, 2] - pred[:, 0], pred[:, 3] - pred[:, 1] + eps
    w2, h2 = target[:, 2] - target[:, 0], target[:, 3] - target[:, 1] + eps
    v = (4 / math.pi**2) * torch.pow(torch.atan(w2 / h2) - torch.atan(w1 / h1), 2)
    with torch.no_grad():
        alpha = (ious > 0.5).float() * v / (1 - ious + v)
    cious = ious - (rho2 / c2 + alpha * v)
    return 1 - cious.clamp(min=-1.0, max=1.0)


class CIoULoss(EpsBoxLoss):
    """Complete-IoU loss of predicted and target boxes ``(N, 4)`` in ``x1, y1, x2, y2`` form.

    Args:
        eps: added to the union, the enclosing diagonal and the heights. Default 1e-6.
        reduction, loss_weight: as :class:`~segdet_losses.base.WeightedLoss` (``'mean'``, 1.0).

    ``forward(pred, target, weight=None, avg_factor=None, reduction_override=None)``;
    ``weight`` is ``(N,)`` or ``(N, 4)`` (then averaged per box).
    """

    def elementwise(self, pred: Tensor, target: Tensor) -> Tensor:
        return ciou_loss(pred, target, self.eps)
