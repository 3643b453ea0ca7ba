"""Per-class score thresholding and NMS of dense detections (MMDetection semantics)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Union

import torch
from torch import Tensor

from .nms import batched_nms

__all__ = ["multiclass_nms"]


def multiclass_nms(
    multi_bboxes: Tensor,
    multi_scores: Tensor,
    score_thr: float,
    nms_cfg: Mapping[str, Any] | None,
    max_num: int = -1,
    score_factors: Tensor | None = None,
    return_inds: bool = False,
) -> Union[tuple[Tensor, Tensor], tuple[Tensor, Tensor, Tensor]]:
    """Threshold scores per class, then run class-aware NMS.

    Every column of ``multi_scores`` is a foreground class (no background
    column: a sigmoid head passes its ``(N, C)`` scores as they are; a
    softmax head drops its background column first).

    Args:
        multi_bboxes: ``(N, 4)`` boxes shared by all classes, or ``(N, C*4)``
            one box per class.
        multi_scores: ``(N, C)`` scores.
        score_thr: keep (box, class) pairs with score ``>`` this.
        nms_cfg: config of :func:`segdet.ops.batched_nms`, e.g.
            ``dict(type='nms', iou_threshold=0.5)``.
        max_num: keep at most this many detections after NMS (-1 = all).
        score_factors: ``(N,)`` factors multiplied into the scores after
            thresholding (e.g. FCOS centerness).
        return_inds: also return, for each detection, its index into the
            flattened ``(N * C)`` (box, class) pairs.

    Returns:
        ``(dets, labels)`` or ``(dets, labels, inds)``: ``dets`` ``(K, 5)``
        ``x1, y1, x2, y2, score`` sorted by score, ``labels`` ``(K,)`` long.
    """
    num_boxes, num_classes = multi_scores.shape
    if multi_bboxes.shape[1] == 4:
        bboxes = multi_bboxes[:, None].expand(num_boxes, num_classes, 4)
    elif multi_bboxes.shape[1] == num_classes * 4:
        bboxes = multi_bboxes.view(num_boxes, num_classes, 4)
    else:
        raise ValueError(
            f"multiclass_nms: multi_bboxes must be (N, 4) or (N, C*4) with C={num_classes} "
            f"score columns, got {tuple(multi_bboxes.shape)}"
        )
    labels = torch.arange(num_classes, dtype=torch.long, device=multi_scores.device)
    labels = labels.view(1, -1).expand_as(multi_scores).reshape(-1)
    bboxes = bboxes.reshape(-1, 4)
    scores = multi_scores.reshape(-1)

    valid_mask = scores > score_thr
    if score_factors is not None:
        factors = score_factors.view(-1, 1).expand(num_boxes, num_classes).reshape(-1)
        scores = scores * factors
    inds = valid_mask.nonzero(as_tuple=False).squeeze(1)
    bboxes, scores, labels = bboxes[inds], scores[inds], labels[inds]

    if bboxes.numel() == 0:
        dets = torch.cat([bboxes, scores[:, None]], -1)
        return (dets, labels, inds) if return_inds else (dets, labels)

    dets, keep = batched_nms(bboxes, scores, labels, nms_cfg)
    if max_num > 0:
        dets, keep = dets[:max_num], keep[:max_num]
    if return_inds:
        return dets, labels[keep], inds[keep]
    return dets, labels[keep]
