"""IoU loss (Yu et al., UnitBox, 2016) of aligned boxes."""
from __future__ import annotations

from torch import Tensor

from segdet.api import bbox_overlaps

from .base import BoxLoss

__all__ = ["IoULoss", "iou_loss"]

_MODES = ("linear", "square", "log")


def iou_loss(pred: Tensor, target: Tensor, mode: str = "log", eps: float = 1e-6) -> Tensor:
    """``(N,)`` loss of aligned boxes ``(N, 4)``: ``1 - IoU`` (linear), ``1 - IoU**2``
    (square) or ``-log(IoU)`` (log), with IoU clamped to at least ``eps``."""
    if mode not in _MODES:
        raise ValueError(f"iou_loss: mode must be one of {_MODES}, got {mode!r}")
    ious = bbox_overlaps(pred, target, is_aligned=True).clamp(min=eps)
    if mode == "linear":
        return 1 - ious
    if mode == "square":
        return 1 - ious**2
    return -ious.log()


class IoULoss(BoxLoss):
    """IoU loss of predicted and target boxes ``(N, 4)`` in ``x1, y1, x2, y2`` form.

    Args:
        linear: same as ``mode='linear'`` (kept for old configs).
        eps: lower bound of the IoU. Default 1e-6.
        reduction: ``'none'``, ``'mean'`` (default) or ``'sum'``.
        loss_weight: factor of the loss. Default 1.0.
        mode: ``'log'`` (default), ``'linear'`` or ``'square'``.

    ``forward(pred, target, weight=None, avg_factor=None, reduction_override=None)``;
    ``weight`` is ``(N,)`` or ``(N, 4)`` (then averaged per box). When no
    weight is positive the loss is 0 with ``pred`` kept in the graph.
    """

    def __init__(
        self,
        linear: bool = False,
        eps: float = 1e-6,
        reduction: str = "mean",
        loss_weight: float = 1.0,
        mode: str = "log",
    ) -> None:
        super().__init__(reduction, loss_weight)
        if linear:
            mode = "linear"
        if mode not in _MODES:
            raise ValueError(f"IoULoss: mode must be one of {_MODES}, got {mode!r}")
        self.mode = mode
        self.linear = linear
        self.eps = eps

    def elementwise(self, pred: Tensor, target: Tensor) -> Tensor:
        return iou_loss(pred, target, self.mode, self.eps)
