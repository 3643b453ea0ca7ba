"""Reduction helpers shared by every loss of this distribution (MMDetection semantics)."""
from __future__ import annotations

from typing import Union

import torch
from torch import Tensor

__all__ = [
    "REDUCTIONS",
    "check_reduction",
    "per_box_weight",
    "reduce_loss",
    "resolve_reduction",
    "weight_reduce_loss",
    "zero_weight_loss",
]

REDUCTIONS = ("none", "mean", "sum")


def check_reduction(reduction: str, owner: str) -> str:
    """``reduction`` if it is one of ``'none' | 'mean' | 'sum'``, else a ``ValueError`` naming ``owner``."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"{owner}: reduction must be one of {REDUCTIONS}, got {reduction!r}")
    return reduction


def resolve_reduction(default: str, override: str | None, owner: str) -> str:
    """The reduction of one call: ``override`` when given, else the loss's own."""
    return check_reduction(default if override is None else override, owner)


def reduce_loss(loss: Tensor, reduction: str) -> Tensor:
    """``loss`` as is (``'none'``), averaged (``'mean'``) or summed (``'sum'``).

    The mean of an empty loss is 0 (with a gradient path), not NaN, so that
    an image without targets contributes nothing.
    """
    if reduction == "none":
        return loss
    if reduction == "mean":
        return loss.sum() if loss.numel() == 0 else loss.mean()
    if reduction == "sum":
        return loss.sum()
    raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


def weight_reduce_loss(
    loss: Tensor,
    weight: Tensor | None = None,
    reduction: str = "mean",
    avg_factor: Union[float, Tensor] | None = None,
) -> Tensor:
    """Multiply element-wise by ``weight``, then reduce.

    With ``avg_factor`` (only for ``'mean'``) the result is
    ``loss.sum() / (avg_factor + eps)`` instead of the mean over elements;
    ``'none'`` ignores it; ``'sum'`` with it is an error.

    Args:
        loss: element-wise loss.
        weight: broadcastable to ``loss``.
        reduction: ``'none'``, ``'mean'`` or ``'sum'``.
        avg_factor: divisor of the summed loss (e.g. the number of positives).
    """
    if weight is not None:
        loss = loss * weight
    if avg_factor is None:
        return reduce_loss(loss, reduction)
    if reduction == "mean":
        eps = torch.finfo(torch.float32).eps
        return loss.sum() / (avg_factor + eps)
    if reduction == "none":
        return loss
    raise ValueError('avg_factor can only be used with reduction="mean" (or "none")')


def zero_weight_loss(pred: Tensor, weight: Tensor | None, reduction: str) -> Tensor | None:
    """For box losses: when no weight is positive, a zero that keeps ``pred`` in the graph.

    Returns ``None`` when the loss has to be computed (some weight is
    positive, no weight was given, or ``reduction='none'``).
    """
    if weight is None or reduction == "none" or bool(torch.any(weight > 0)):
        return None
    if pred.dim() == weight.dim() + 1:
        weight = weight.unsqueeze(1)
    return (pred * weight).sum()


def per_box_weight(weight: Tensor | None) -> Tensor | None:
    """``(N, 4)`` per-coordinate weights as ``(N,)`` per-box weights (their mean)."""
    if weight is not None and weight.dim() > 1:
        return weight.mean(-1)
    return weight
