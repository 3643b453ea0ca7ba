"""The part every weighted loss of this distribution shares: reduction, loss_weight, avg_factor."""
from __future__ import annotations

from typing import Union

from torch import Tensor, nn

from .utils import (
    check_reduction,
    per_box_weight,
    resolve_reduction,
    weight_reduce_loss,
    zero_weight_loss,
)

__all__ = ["BoxLoss", "EpsBoxLoss", "WeightedLoss"]


class WeightedLoss(nn.Module):
    """An element-wise loss, weighted, reduced and scaled as in MMDetection.

    A subclass keeps its own typed constructor (its MMDetection arguments), calls
    ``super().__init__(reduction, loss_weight)`` and implements ``elementwise(pred, target)``.

    Args:
        reduction: ``'none'``, ``'mean'`` (default) or ``'sum'``.
        loss_weight: factor of the loss. Default 1.0.

    ``forward(pred, target, weight=None, avg_factor=None, reduction_override=None)`` returns
    ``loss_weight * reduce(elementwise(pred, target) * weight)``; with ``avg_factor`` the
    mean is ``sum / avg_factor`` (see :func:`segdet_losses.utils.weight_reduce_loss`).
    """

    def __init__(self, reduction: str = "mean", loss_weight: float = 1.0) -> None:
        super().__init__()
        self.reduction = check_reduction(reduction, type(self).__name__)
        self.loss_weight = loss_weight

    def elementwise(self, pred: Tensor, target: Tensor) -> Tensor:
        """The unreduced loss of ``pred`` against ``target``."""
        raise NotImplementedError(f"{type(self).__name__} must implement elementwise(pred, target)")

    def forward(
        self,
        pred: Tensor,
        target: Tensor,
        weight: Tensor | None = None,
        avg_factor: Union[float, Tensor] | None = None,
        reduction_override: str | None = None,
    ) -> Tensor:
        reduction = resolve_reduction(self.reduction, reduction_override, type(self).__name__)
        return self.weighted(pred, target, weight, reduction, avg_factor)

    def weighted(self, pred: Tensor, target: Tensor, weight: Tensor | None, reduction: str,
                 avg_factor: Union[float, Tensor] | None) -> Tensor:
        """``loss_weight * reduce(elementwise(pred, target) * weight)`` with a resolved ``reduction``."""
        loss = self.elementwise(pred, target)
        return self.loss_weight * weight_reduce_loss(loss, weight, reduction, avg_factor)


class BoxLoss(WeightedLoss):
    """A loss of aligned boxes ``(N, 4)`` giving one value per box (IoU-family losses).

    ``weight`` may be ``(N,)`` or ``(N, 4)`` (then averaged per box). When no weight is
    positive the loss is 0 with ``pred`` kept in the graph, so an image without positives
    neither contributes nor breaks the backward pass.
    """

    def weighted(self, pred: Tensor, target: Tensor, weight: Tensor | None, reduction: str,
                 avg_factor: Union[float, Tensor] | None) -> Tensor:
        zero = zero_weight_loss(pred, weight, reduction)
        if zero is not None:
            return zero
        return super().weighted(pred, target, per_box_weight(weight), reduction, avg_factor)


class EpsBoxLoss(BoxLoss):
    """A box loss with a numerical floor ``eps`` (GIoU, DIoU, CIoU).

    Args:
        eps: lower bound of the union and enclosing terms. Default 1e-6.
        reduction: ``'none'``, ``'mean'`` (default) or ``'sum'``.
        loss_weight: factor of the loss. Default 1.0.

    ``forward(pred, target, weight=None, avg_factor=None, reduction_override=None)`` with
    ``pred``, ``target`` ``(N, 4)`` in ``x1, y1, x2, y2`` form; ``weight`` ``(N,)`` or ``(N, 4)``.
    """

    def __init__(self, eps: float = 1e-6, reduction: str = "mean", loss_weight: float = 1.0) -> None:
        super().__init__(reduction, loss_weight)
        self.eps = eps
