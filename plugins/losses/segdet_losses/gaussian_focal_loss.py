"""Focal loss on Gaussian heatmaps (CornerNet / CenterNet)."""
from __future__ import annotations

from torch import Tensor

from .base import WeightedLoss

__all__ = ["GaussianFocalLoss", "gaussian_focal_loss"]


def gaussian_focal_loss(pred: Tensor, gaussian_target: Tensor, alpha: float = 2.0, gamma: float = 4.0) -> Tensor:
    """Element-wise loss of probabilities ``pred`` against a heatmap in ``[0, 1]``.

    Where the target is 1: ``-log(p) * (1 - p)**alpha``; elsewhere:
    ``-log(1 - p) * p**alpha * (1 - t)**gamma``.
    """
    eps = 1e-12
    pos_weights = gaussian_target.eq(1)
    neg_weights = (1 - gaussian_target).pow(gamma)
    pos_loss = -(pred + eps).log() * (1 - pred).pow(alpha) * pos_weights
    neg_loss = -(1 - pred + eps).log() * pred.pow(alpha) * neg_weights
    return pos_loss + neg_loss


class GaussianFocalLoss(WeightedLoss):
    """Penalty-reduced focal loss of a predicted heatmap against a Gaussian target heatmap.

    Args:
        alpha: power of the modulating factor. Default 2.0.
        gamma: power of the penalty reduction ``(1 - t)``. Default 4.0.
        reduction: ``'none'``, ``'mean'`` (default) or ``'sum'``.
        loss_weight: factor of the loss. Default 1.0.

    ``forward(pred, target, weight=None, avg_factor=None, reduction_override=None)``:
    ``pred`` holds probabilities (after sigmoid), ``target`` has its shape.
    """

    def __init__(
        self, alpha: float = 2.0, gamma: float = 4.0, reduction: str = "mean", loss_weight: float = 1.0
    ) -> None:
        super().__init__(reduction, loss_weight)
        self.alpha = alpha
        self.gamma = gamma

    def elementwise(self, pred: Tensor, target: Tensor) -> Tensor:
        return gaussian_focal_loss(pred, target, self.alpha, self.gamma)
