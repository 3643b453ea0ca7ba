"""Sigmoid focal loss (Lin et al., ICCV 2017) as in MMDetection."""
from __future__ import annotations

from typing import ClassVar, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .utils import check_reduction, resolve_reduction, weight_reduce_loss

__all__ = ["FocalLoss", "sigmoid_focal_loss"]


def sigmoid_focal_loss(
    pred: Tensor, target: Tensor, gamma: float = 2.0, alpha: float = 0.25, activated: bool = False
) -> Tensor:
    """Element-wise focal loss of ``pred (N, C)`` logits (probabilities if
    ``activated``) against a float ``target (N, C)`` in ``[0, 1]``.

    ``loss = -a_t * (1 - p_t)**gamma * log(p_t)`` with ``a_t = alpha`` for
    positives and ``1 - alpha`` for negatives.
    """
    target = target.type_as(pred)
    if activated:
        prob = pred
        bce = F.binary_cross_entropy(pred, target, reduction="none")
    else:
        prob = pred.sigmoid()
        bce = F.binary_cross_entropy_with_logits(pred, target, reduction="none")
    pt = (1 - prob) * target + prob * (1 - target)  # 1 - p_t
    focal_weight = (alpha * target + (1 - alpha) * (1 - target)) * pt.pow(gamma)
    return bce * focal_weight


def _as_one_hot(pred: Tensor, target: Tensor, ignore_index: int | None) -> tuple[Tensor, Tensor | None]:
    """``(N, C)`` float targets from ``(N,)`` labels (any label outside ``[0, C)`` is
    background), and a validity mask ``(N, 1)`` when some labels are ``ignore_index``."""
    num_classes = pred.size(1)
    valid = None
    labels = target.long()
    if ignore_index is not None:
        keep = labels != ignore_index
        if not bool(keep.all()):
            valid = keep.to(pred.dtype)[:, None]
            labels = torch.where(keep, labels, torch.full_like(labels, num_classes))
    foreground = (labels >= 0) & (labels < num_classes)
    labels = torch.where(foreground, labels, torch.full_like(labels, num_classes))
    one_hot = F.one_hot(labels, num_classes=num_classes + 1)
    return one_hot[:, :num_classes].to(pred.dtype), valid


def _flatten_dense(
    pred: Tensor, target: Tensor, weight: Tensor | None
) -> tuple[Tensor, Tensor, Tensor | None]:
    """``(N, C, *)`` maps as ``(N*, C)`` rows: every location is one sample."""
    c = pred.size(1)
    rows = pred.movedim(1, -1).reshape(-1, c)
    if target.shape == pred.shape:
        target = target.movedim(1, -1).reshape(-1, c)
    elif target.numel() == rows.size(0):
        target = target.reshape(-1)
    else:
        raise ValueError(
            f"FocalLoss: target {tuple(target.shape)} matches neither pred {tuple(pred.shape)} "
            f"nor its (N, *) label map"
        )
    if weight is not None:
        weight = weight.movedim(1, -1).reshape(-1, c) if weight.shape == pred.shape else weight.reshape(-1)
    return rows, target, weight


class FocalLoss(nn.Module):
    """Sigmoid focal loss of classification logits.

    Args:
        use_sigmoid: must be ``True`` (only the sigmoid form exists).
        gamma: focusing parameter. Default 2.0.
        alpha: weight of positives (negatives get ``1 - alpha``). Default 0.25.
        reduction: ``'none'``, ``'mean'`` (default) or ``'sum'``.
        loss_weight: factor of the loss. Default 1.0.
        activated: ``pred`` already holds probabilities. Default ``False``.

    ``forward(pred, target, weight=None, avg_factor=None, reduction_override=None,
    ignore_index=None)``: ``pred`` ``(N, C)`` logits (or ``(N, C, *)``, e.g.
    segmentation maps, with labels ``(N, *)``); ``target`` ``(N,)`` long
    labels in ``[0, C]`` where ``C`` is background, or ``(N, C)`` one-hot /
    soft targets; ``weight`` ``(N,)`` per sample or ``(N, C)`` per element.
    Labels equal to ``ignore_index`` weigh 0.

    Example:
        >>> loss = FocalLoss()
        >>> loss(torch.zeros(2, 3), torch.tensor([0, 3]))  # label 3 = background
    """

    #: read by anchor heads: focal loss balances easy negatives itself, so no anchor sampling
    needs_sampling: ClassVar[bool] = False

    def __init__(
        self,
        use_sigmoid: bool = True,
        gamma: float = 2.0,
        alpha: float = 0.25,
        reduction: str = "mean",
        loss_weight: float = 1.0,
        activated: bool = False,
    ) -> None:
        super().__init__()
        if not use_sigmoid:
            raise ValueError("FocalLoss: only the sigmoid focal loss exists; set use_sigmoid=True")
        self.use_sigmoid = use_sigmoid
        self.gamma = gamma
        self.alpha = alpha
        self.reduction = check_reduction(reduction, "FocalLoss")
        self.loss_weight = loss_weight
        self.activated = activated

    def forward(
        self,
        pred: Tensor,
        target: Tensor,
        weight: Tensor | None = None,
        avg_factor: Union[float, Tensor] | None = None,
        reduction_override: str | None = None,
        ignore_index: int | None = None,
    ) -> Tensor:
        reduction = resolve_reduction(self.reduction, reduction_override, "FocalLoss")
        if pred.dim() > 2:
            pred, target, weight = _flatten_dense(pred, target, weight)
        valid = None
        if target.dim() == 1:
            target, valid = _as_one_hot(pred, target, ignore_index)
        elif target.shape != pred.shape:
            raise ValueError(
                f"FocalLoss: target must be (N,) labels or (N, C) like pred {tuple(pred.shape)}, "
                f"got {tuple(target.shape)}"
            )
        loss = sigmoid_focal_loss(pred, target, self.gamma, self.alpha, self.activated)
        if weight is not None and weight.shape != loss.shape:
            if weight.numel() == loss.size(0):
                weight = weight.reshape(-1, 1)
            elif weight.numel() == loss.numel():
                weight = weight.reshape(loss.shape)
            else:
                raise ValueError(
                    f"FocalLoss: weight {tuple(weight.shape)} fits neither (N,) nor (N, C) = {tuple(loss.shape)}"
                )
        if valid is not None:
            weight = valid if weight is None else weight * valid
        return self.loss_weight * weight_reduce_loss(loss, weight, reduction, avg_factor)
