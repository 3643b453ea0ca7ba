"""Dice loss: MMDetection's per-sample form and MMSegmentation's multi-class form."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .utils import check_reduction, resolve_reduction, weight_reduce_loss

__all__ = ["DiceLoss", "dice_loss", "multiclass_dice_loss"]


def dice_loss(pred: Tensor, target: Tensor, eps: float = 1e-3, naive_dice: bool = False) -> Tensor:
    """``(N,)`` ``1 - dice`` of probabilities ``pred (N, *)`` and targets of the same shape.

    V-Net form (default): ``2 * sum(p*t) / (sum(p**2) + eps + sum(t**2) + eps)``;
    naive form: ``(2 * sum(p*t) + eps) / (sum(p) + sum(t) + eps)``.
    """
    p = pred.flatten(1)
    t = target.flatten(1).float()
    a = torch.sum(p * t, 1)
    if naive_dice:
        d = (2 * a + eps) / (torch.sum(p, 1) + torch.sum(t, 1) + eps)
    else:
        d = (2 * a) / ((torch.sum(p * p, 1) + eps) + (torch.sum(t * t, 1) + eps))
    return 1 - d


def _binary_dice(pred: Tensor, target: Tensor, valid: Tensor, smooth: float, exponent: float) -> Tensor:
    p = pred.reshape(pred.shape[0], -1)
    t = target.reshape(target.shape[0], -1)
    v = valid.reshape(valid.shape[0], -1)
    num = torch.sum(p * t * v, dim=1) * 2 + smooth
    den = torch.sum(p.pow(exponent) + t.pow(exponent), dim=1) + smooth
    return 1 - num / den


def multiclass_dice_loss(
    prob: Tensor,
    one_hot: Tensor,
    valid: Tensor,
    smooth: float = 1.0,
    exponent: float = 2.0,
    class_weight: Tensor | None = None,
    ignore_index: int = 255,
    reduction: str = "mean",
    avg_factor: Union[float, Tensor] | None = None,
) -> Tensor:
    """MMSegmentation's dice: the mean over classes of a per-class binary dice.

    ``prob`` ``(N, C, *)`` probabilities, ``one_hot`` ``(N, *, C)``, ``valid``
    ``(N, *)`` mask (or per-pixel weights) applied to the numerator. Each
    class's ``(N,)`` loss is reduced, optionally weighted, summed over classes
    (class ``ignore_index`` left out) and divided by ``C``.
    """
    num_classes = prob.shape[1]
    total = prob.new_zeros(())
    for i in range(num_classes):
        if i == ignore_index:
            continue
        loss = _binary_dice(prob[:, i], one_hot[..., i], valid, smooth, exponent)
        loss = weight_reduce_loss(loss, None, reduction, avg_factor)
        if class_weight is not None:
            loss = loss * class_weight[i]
        total = total + loss
    return total / num_classes


class DiceLoss(nn.Module):
    """Dice loss for masks (MMDetection form) or segmentation maps (MMSegmentation form).

    The form is chosen per call: a ``target`` with as many dims as ``pred``
    uses the MMDetection form (``pred`` ``(N, *)`` vs ``target`` ``(N, *)``,
    one loss per sample); a ``target`` with one dim fewer is a label map
    ``(N, H, W)`` for logits ``(N, C, H, W)`` and uses MMSegmentation's
    multi-class form (softmax over ``C``, one-hot labels, pixels labelled
    ``ignore_index`` left out of the numerator, ``smooth``, ``exponent``).

    Args:
        use_sigmoid: MMDetection form: activate with sigmoid (else softmax over dim 1).
        activate: apply the activation (``False``: ``pred`` holds probabilities).
        reduction: ``'none'``, ``'mean'`` (default) or ``'sum'``.
        naive_dice: MMDetection form: ``2|P∩T| / (|P| + |T|)`` instead of V-Net's squares.
        loss_weight: factor of the loss. Default 1.0.
        eps: MMDetection form: smoothing term. Default 1e-3.
        ignore_index: MMSegmentation form: label to leave out. Default 255.
        smooth: MMSegmentation form: smoothing term. Default 1.
        exponent: MMSegmentation form: exponent of the denominator. Default 2.
        class_weight: MMSegmentation form: weight of each class.
        loss_name: key of this loss in a loss dict. Default ``'loss_dice'``.

    ``forward(pred, target, weight=None, avg_factor=None, reduction_override=None,
    ignore_index=None)``: ``weight`` is ``(N,)`` per sample (MMDetection form)
    or ``(N, H, W)`` per pixel, multiplied into the valid mask (MMSegmentation form).
    """

    def __init__(
        self,
        use_sigmoid: bool = True,
        activate: bool = True,
        reduction: str = "mean",
        naive_dice: bool = False,
        loss_weight: float = 1.0,
        eps: float = 1e-3,
        ignore_index: int = 255,
        smooth: float = 1.0,
        exponent: float = 2.0,
        class_weight: Sequence[float] | None = None,
        loss_name: str = "loss_dice",
    ) -> None:
        super().__init__()
        self.use_sigmoid = use_sigmoid
        self.activate = activate
        self.reduction = check_reduction(reduction, "DiceLoss")
        self.naive_dice = naive_dice
        self.loss_weight = loss_weight
        self.eps = eps
        self.ignore_index = ignore_index
        self.smooth = smooth
        self.exponent = exponent
        self.class_weight = None if class_weight is None else [float(w) for w in class_weight]
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        """Key of this loss in a loss dict."""
        return self._loss_name

    def forward(
        self,
        pred: Tensor,
        target: Tensor,
        weight: Tensor | None = None,
        avg_factor: Union[float, Tensor] | None = None,
        reduction_override: str | None = None,
        ignore_index: int | None = None,
    ) -> Tensor:
        reduction = resolve_reduction(self.reduction, reduction_override, "DiceLoss")
        if target.dim() == pred.dim() - 1:
            return self.loss_weight * self._multiclass(pred, target, weight, avg_factor, reduction, ignore_index)
        if target.shape != pred.shape:
            raise ValueError(
                f"DiceLoss: target {tuple(target.shape)} must have pred's shape {tuple(pred.shape)} "
                f"or be a label map with one dim fewer"
            )
        if self.activate:
            pred = pred.sigmoid() if self.use_sigmoid else pred.softmax(dim=1)
        loss = dice_loss(pred, target, self.eps, self.naive_dice)
        if weight is not None and weight.shape != loss.shape:
            raise ValueError(f"DiceLoss: weight must be (N,) = {tuple(loss.shape)}, got {tuple(weight.shape)}")
        return self.loss_weight * weight_reduce_loss(loss, weight, reduction, avg_factor)

    def _multiclass(
        self,
        pred: Tensor,
        target: Tensor,
        weight: Tensor | None,
        avg_factor: Union[float, Tensor] | None,
        reduction: str,
        ignore_index: int | None,
    ) -> Tensor:
        ignore = self.ignore_index if ignore_index is None else ignore_index
        prob = pred.softmax(dim=1) if self.activate else pred
        num_classes = prob.shape[1]
        labels = target.long()
        one_hot = F.one_hot(labels.clamp(0, num_classes - 1), num_classes=num_classes)
        valid = (labels != ignore).to(prob.dtype)
        if weight is not None:
            valid = valid * weight.reshape(valid.shape).to(prob.dtype)
        class_weight = None if self.class_weight is None else prob.new_tensor(self.class_weight)
        return multiclass_dice_loss(
            prob, one_hot, valid, self.smooth, self.exponent, class_weight, ignore, reduction, avg_factor
        )
