"""Soft-NMS (Bodla et al., 2017) in plain torch, device-agnostic."""
from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["soft_nms"]

_METHODS = ("linear", "gaussian", "naive")


def _iou_one_to_many(box: Tensor, boxes: Tensor) -> Tensor:
    lt = torch.max(box[:2], boxes[:, :2])
    rb = torch.min(box[2:], boxes[:, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[:, 0] * wh[:, 1]
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / (area + areas - inter).clamp(min=1e-12)


def soft_nms(
    boxes: Tensor,
    scores: Tensor,
    iou_threshold: float = 0.3,
    sigma: float = 0.5,
    min_score: float = 1e-3,
    method: str = "linear",
) -> tuple[Tensor, Tensor]:
    """Decay the scores of boxes overlapping a higher-scored box (MMCV semantics).

    At every step the remaining box with the highest (decayed) score is kept,
    and each other remaining box's score is multiplied by a weight of its IoU
    ``o`` with it: ``'linear'``: ``1 - o`` if ``o >= iou_threshold`` else 1;
    ``'gaussian'``: ``exp(-o**2 / sigma)``; ``'naive'``: 0 if
    ``o >= iou_threshold`` else 1. Boxes whose score falls below
    ``min_score`` are dropped.

    Args:
        boxes: ``(N, 4)`` boxes ``x1, y1, x2, y2``.
        scores: ``(N,)`` scores.
        iou_threshold: overlap from which ``linear``/``naive`` decay. Default 0.3.
        sigma: width of the gaussian decay. Default 0.5.
        min_score: drop boxes whose decayed score is below this. Default 1e-3.
        method: ``'linear'`` (default), ``'gaussian'`` or ``'naive'``.

    Returns:
        ``(dets, keep)``: ``dets`` ``(K, 5)`` ``x1, y1, x2, y2, decayed score``
        by decreasing score; ``keep`` ``(K,)`` long indices into the input.
    """
    if method not in _METHODS:
        raise ValueError(f"soft_nms: method must be one of {_METHODS}, got {method!r}")
    if boxes.shape[0] != scores.shape[0]:
        raise ValueError(
            f"soft_nms: boxes {tuple(boxes.shape)} and scores {tuple(scores.shape)} differ in length"
        )
    device = boxes.device
    if boxes.numel() == 0:
        return boxes.new_zeros((0, 5)), torch.empty((0,), dtype=torch.long, device=device)

    work = boxes.detach().float()
    cur = scores.detach().float().clone()
    alive = torch.arange(boxes.shape[0], device=device)
    keep: list[Tensor] = []
    kept_scores: list[Tensor] = []
    while alive.numel() > 0:
        top = int(torch.argmax(cur[alive]))
        i = alive[top]
        keep.append(i)
        kept_scores.append(cur[i])
        alive = torch.cat([alive[:top], alive[top + 1 :]])
        if alive.numel() == 0:
            break
        ious = _iou_one_to_many(work[i], work[alive])
        if method == "linear":
            weight = torch.where(ious >= iou_threshold, 1.0 - ious, torch.ones_like(ious))
        elif method == "gaussian":
            weight = torch.exp(-(ious * ious) / sigma)
        else:
            weight = (ious < iou_threshold).to(ious)
        cur[alive] = cur[alive] * weight
        alive = alive[cur[alive] >= min_score]

    keep_t = torch.stack(keep).to(torch.long)
    score_t = torch.stack(kept_scores).to(boxes.dtype)
    return torch.cat([boxes[keep_t], score_t[:, None]], -1), keep_t

