"""Sigmoid focal loss (Lin et al., ICCV 2017) as in MMDetection."""
from __future__ import annotations

from typing import Any, ClassVar, Union

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


class _FocalLossSum(torch.autograd.Function):
    """``sum(weight * focal(pred, one_hot(labels)))`` for ``pred (N, C)`` logits and ``labels (N,)``
    (outside ``[0, C)`` = background), with the gradient written out by hand.

    Same values as :func:`sigmoid_focal_loss` on a one-hot target (float rounding aside), but
    without the ``(N, C)`` one-hot target and the dozen ``(N, C)`` intermediates autograd keeps
    for the composite formula: a RetinaNet step at 512 px has 2 x 49104 x 80 logits, and there
    the composite loss cost more than the rest of the head's loss work together. With
    ``p = sigmoid(x)`` and ``softplus(x) = -log(1 - p)``:

    - negative: ``loss = (1 - alpha) p^g softplus(x)``,
      ``dloss/dx = (1 - alpha) p^g (p + g (1 - p) softplus(x))``;
    - positive: ``loss = alpha (1 - p)^g softplus(-x)``,
      ``dloss/dx = alpha (1 - p)^g (-g p softplus(-x) - (1 - p))``.
    """

    @staticmethod
    def forward(ctx: Any, pred: Tensor, labels: Tensor, weight: Tensor | None, gamma: float,
                alpha: float) -> Tensor:
        pred = pred.contiguous()  # flat indices below address it row-major
        num, c = pred.shape
        pos = ((labels >= 0) & (labels < c)).nonzero().squeeze(1)
        flat_pos = pos * c + labels[pos]
        x_pos = pred.reshape(-1)[flat_pos]
        # every element as a negative, positives zeroed and added with their own formula;
        # p and softplus(x) are kept for the backward pass (two (N, C) tensors, no recompute)
        prob, soft = torch.sigmoid(pred), F.softplus(pred)
        neg = prob.pow(gamma).mul_(soft)
        neg.view(-1)[flat_pos] = 0
        p_pos = torch.sigmoid(x_pos)
        pos_loss = (1 - p_pos).pow(gamma) * F.softplus(-x_pos)
        if weight is not None:
            neg.mul_(weight)
            pos_loss = pos_loss * weight.expand(num, c).reshape(-1)[flat_pos]
        ctx.save_for_backward(pred, prob, soft, flat_pos, weight)
        ctx.gamma, ctx.alpha = gamma, alpha
        return neg.sum() * (1 - alpha) + pos_loss.sum() * alpha

    @staticmethod
    def backward(ctx: Any, grad_out: Tensor) -> tuple[Tensor | None, ...]:
        pred, p, soft, flat_pos, weight = ctx.saved_tensors
        gamma, alpha = ctx.gamma, ctx.alpha
        grad = torch.rsub(p, 1).mul_(soft).mul_(gamma).add_(p).mul_(p.pow(gamma))
        x_pos = pred.reshape(-1)[flat_pos]
        p_pos = torch.sigmoid(x_pos)
        # scaled by alpha / (1 - alpha): everything is multiplied by (1 - alpha) below
        grad.view(-1)[flat_pos] = (alpha / (1 - alpha)) * (1 - p_pos).pow(gamma) * (
            -gamma * p_pos * F.softplus(-x_pos) - (1 - p_pos))
        grad.mul_(grad_out * (1 - alpha))
        if weight is not None:
            grad.mul_(weight)
        return grad, None, None, None, None


def _focal_sum(pred: Tensor, labels: Tensor, weight: Tensor | None, gamma: float, alpha: float) -> Tensor:
    """:class:`_FocalLossSum` (``alpha < 1``; ``weight`` broadcast to ``(N, C)`` or ``None``)."""
    return _FocalLossSum.apply(pred, labels, weight, gamma, alpha)


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
        fast = self._fast_sum(pred, target, weight, reduction, avg_factor, ignore_index)
        if fast is not None:
            return fast
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

    def _fast_sum(self, pred: Tensor, target: Tensor, weight: Tensor | None, reduction: str,
                  avg_factor: Union[float, Tensor] | None, ignore_index: int | None) -> Tensor | None:
        """The reduced loss of logits against ``(N,)`` labels through :class:`_FocalLossSum`
        (what anchor heads compute every step), or ``None`` for the general path."""
        if (self.activated or reduction == "none" or target.dim() != 1 or pred.dim() != 2
                or target.dtype.is_floating_point or not 0 <= self.alpha < 1):
            return None
        labels = target.long()
        num, c = pred.shape
        if weight is not None:
            if weight.requires_grad or weight.numel() not in (num, num * c):
                return None  # the general path differentiates it, or names the shape error
            weight = weight.reshape(-1, 1) if weight.numel() == num else weight.reshape(pred.shape)
            weight = weight.to(pred.dtype)
        if ignore_index is not None:
            keep = labels != ignore_index
            if not bool(keep.all()):  # ignored rows: background with weight 0, as the general path
                labels = torch.where(keep, labels, torch.full_like(labels, c))
                valid = keep.to(pred.dtype)[:, None]
                weight = valid if weight is None else weight * valid
        total = _focal_sum(pred, labels, weight, float(self.gamma), float(self.alpha))
        if reduction == "sum":
            if avg_factor is not None:
                raise ValueError('avg_factor can only be used with reduction="mean" (or "none")')
            return self.loss_weight * total
        if avg_factor is None:
            return self.loss_weight * total / max(pred.numel(), 1)
        return self.loss_weight * total / (avg_factor + torch.finfo(torch.float32).eps)
