"""L1 regression loss."""
from __future__ import annotations

from typing import Union

import torch
from torch import Tensor, nn

from .utils import check_reduction, resolve_reduction, weight_reduce_loss

__all__ = ["L1Loss", "l1_loss"]


def l1_loss(pred: Tensor, target: Tensor) -> Tensor:
    """Element-wise ``|pred - target|``."""
    if target.numel() == 0:
        return pred * 0
    return torch.abs(pred - target)


class L1Loss(nn.Module):
    """L1 loss.

    Args:
        reduction: ``'none'``, ``'mean'`` (default) or ``'sum'``.
        loss_weight: factor of the loss. Default 1.0.

    ``forward(pred, target, weight=None, avg_factor=None, reduction_override=None)``
    with ``pred``, ``target`` and ``weight`` of the same shape.
    """

    def __init__(self, reduction: str = "mean", loss_weight: float = 1.0) -> None:
        super().__init__()
        self.reduction = check_reduction(reduction, "L1Loss")
        self.loss_weight = loss_weight

    def forward(
        self,
        pred: Tensor,
        target: Tensor,
        weight: Tensor | None = None,
        avg_factor: Union[float, Tensor] | None = None,
        reduction_override: str | None = None,
    ) -> Tensor:
        reduction = resolve_reduction(self.reduction, reduction_override, "L1Loss")
        loss = l1_loss(pred, target)
        return self.loss_weight * weight_reduce_loss(loss, weight, reduction, avg_factor)
