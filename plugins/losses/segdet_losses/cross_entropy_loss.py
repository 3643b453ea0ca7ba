"""Softmax, binary (sigmoid) and mask cross-entropy as in MMDetection / MMSegmentation."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .utils import check_reduction, resolve_reduction, weight_reduce_loss

__all__ = ["CrossEntropyLoss", "binary_cross_entropy", "cross_entropy", "mask_cross_entropy"]

_DEFAULT_IGNORE = -100


def cross_entropy(
    pred: Tensor,
    label: Tensor,
    weight: Tensor | None = None,
    reduction: str = "mean",
    avg_factor: Union[float, Tensor] | None = None,
    class_weight: Tensor | None = None,
    ignore_index: int = _DEFAULT_IGNORE,
    avg_non_ignore: bool = False,
) -> Tensor:
    """Softmax cross-entropy of ``pred (N, C[, H, W])`` and labels ``(N[, H, W])``.

    Ignored elements have loss 0; the mean is over all elements unless
    ``avg_non_ignore`` (then over the non-ignored ones).
    """
    loss = F.cross_entropy(pred, label.long(), weight=class_weight, reduction="none", ignore_index=ignore_index)
    if avg_factor is None and avg_non_ignore and reduction == "mean":
        avg_factor = label.numel() - int((label == ignore_index).sum())
    if weight is not None:
        weight = weight.float()
    return weight_reduce_loss(loss, weight, reduction, avg_factor)


def _expand_onehot_labels(
    labels: Tensor, label_weights: Tensor | None, label_channels: int, ignore_index: int
) -> tuple[Tensor, Tensor, Tensor]:
    bin_labels = labels.new_zeros((labels.size(0), label_channels))
    valid_mask = (labels >= 0) & (labels != ignore_index)
    inds = torch.nonzero(valid_mask & (labels < label_channels), as_tuple=False).squeeze(-1)
    if inds.numel() > 0:
        bin_labels[inds, labels[inds].long()] = 1
    valid = valid_mask.view(-1, 1).expand(labels.size(0), label_channels).float()
    if label_weights is None:
        bin_weights = valid
    else:
        bin_weights = label_weights.view(-1, 1).repeat(1, label_channels) * valid
    return bin_labels, bin_weights, valid


def binary_cross_entropy(
    pred: Tensor,
    label: Tensor,
    weight: Tensor | None = None,
    reduction: str = "mean",
    avg_factor: Union[float, Tensor] | None = None,
    class_weight: Tensor | None = None,
    ignore_index: int = _DEFAULT_IGNORE,
    avg_non_ignore: bool = False,
) -> Tensor:
    """Sigmoid cross-entropy of ``pred (N, C)`` logits.

    ``label`` is either like ``pred`` (binary/soft targets) or ``(N,)`` class
    indices expanded to one-hot (an index ``>= C``, i.e. background, gives an
    all-zero row). ``class_weight`` is the ``pos_weight`` of every class.
    """
    if pred.dim() != label.dim():
        label, weight, valid = _expand_onehot_labels(label, weight, pred.size(-1), ignore_index)
    else:
        valid = ((label >= 0) & (label != ignore_index)).float()
        weight = valid if weight is None else weight * valid
    if avg_factor is None and avg_non_ignore and reduction == "mean":
        avg_factor = float(valid.sum())
    loss = F.binary_cross_entropy_with_logits(pred, label.float(), pos_weight=class_weight, reduction="none")
    return weight_reduce_loss(loss, weight.float(), reduction, avg_factor)


def mask_cross_entropy(
    pred: Tensor,
    target: Tensor,
    label: Tensor,
    class_weight: Tensor | None = None,
) -> Tensor:
    """Mean sigmoid cross-entropy of the mask of each RoI's class.

    ``pred`` ``(R, C, H, W)`` logits, ``target`` ``(R, H, W)`` binary masks,
    ``label`` ``(R,)`` class of each RoI. Returns a ``(1,)`` tensor.
    """
    inds = torch.arange(0, pred.size(0), dtype=torch.long, device=pred.device)
    pred_slice = pred[inds, label.long()]
    return F.binary_cross_entropy_with_logits(
        pred_slice, target.float(), weight=class_weight, reduction="mean"
    )[None]


class CrossEntropyLoss(nn.Module):
    """Cross-entropy loss: softmax (default), sigmoid (``use_sigmoid``) or per-RoI mask (``use_mask``).

    Args:
        use_sigmoid: binary cross-entropy per class; ``(N,)`` labels are
            expanded to one-hot (label ``C`` = background = all zeros).
        use_mask: Mask R-CNN's mask loss; ``forward(mask_pred, mask_targets,
            labels)`` (the labels take the place of ``weight``).
        reduction: ``'none'``, ``'mean'`` (default) or ``'sum'``.
        class_weight: weight of each class (softmax: ``F.cross_entropy``'s
            ``weight``; sigmoid: ``pos_weight``).
        ignore_index: label to ignore; ``None`` means -100 (PyTorch's default).
            Segmentation callers pass 255, here or to ``forward``.
        loss_weight: factor of the loss. Default 1.0.
        avg_non_ignore: average over non-ignored elements only.
        loss_name: key of this loss in a loss dict. Default ``'loss_ce'``.

    ``forward(pred, target, weight=None, avg_factor=None, reduction_override=None,
    ignore_index=None)``: ``pred`` ``(N, C)`` with ``target`` ``(N,)`` labels, or
    ``(N, C, H, W)`` with ``(N, H, W)`` labels; ``weight`` is per element of the
    unreduced loss. A ``forward`` ``ignore_index`` overrides the constructor's.
    """

    def __init__(
        self,
        use_sigmoid: bool = False,
        use_mask: bool = False,
        reduction: str = "mean",
        class_weight: Sequence[float] | None = None,
        ignore_index: int | None = None,
        loss_weight: float = 1.0,
        avg_non_ignore: bool = False,
        loss_name: str = "loss_ce",
    ) -> None:
        super().__init__()
        if use_sigmoid and use_mask:
            raise ValueError("CrossEntropyLoss: use_sigmoid and use_mask cannot both be True")
        self.use_sigmoid = use_sigmoid
        self.use_mask = use_mask
        self.reduction = check_reduction(reduction, "CrossEntropyLoss")
        self.class_weight = None if class_weight is None else [float(w) for w in class_weight]
        self.ignore_index = ignore_index
        self.loss_weight = loss_weight
        self.avg_non_ignore = avg_non_ignore
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        """Key of this loss in a loss dict (must contain ``'loss'`` to be optimized)."""
        return self._loss_name

    def extra_repr(self) -> str:
        return (
            f"use_sigmoid={self.use_sigmoid}, use_mask={self.use_mask}, reduction={self.reduction!r}, "
            f"ignore_index={self.ignore_index}, avg_non_ignore={self.avg_non_ignore}, "
            f"loss_weight={self.loss_weight}"
        )

    def forward(
        self,
        pred: Tensor,
        target: Tensor,
        weight: Tensor | None = None,
        avg_factor: Union[float, Tensor] | None = None,
        reduction_override: str | None = None,
        ignore_index: int | None = None,
    ) -> Tensor:
        reduction = resolve_reduction(self.reduction, reduction_override, "CrossEntropyLoss")
        if ignore_index is None:
            ignore_index = self.ignore_index
        if ignore_index is None:
            ignore_index = _DEFAULT_IGNORE
        class_weight = None if self.class_weight is None else pred.new_tensor(self.class_weight)
        if self.use_mask:
            if weight is None:
                raise ValueError("CrossEntropyLoss(use_mask=True): pass the RoI labels as third argument")
            loss = mask_cross_entropy(pred, target, weight, class_weight)
        elif self.use_sigmoid:
            loss = binary_cross_entropy(
                pred, target, weight, reduction, avg_factor, class_weight, ignore_index, self.avg_non_ignore
            )
        else:
            loss = cross_entropy(
                pred, target, weight, reduction, avg_factor, class_weight, ignore_index, self.avg_non_ignore
            )
        return self.loss_weight * loss
