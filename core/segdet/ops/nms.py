"""Hard NMS and class-aware batched NMS over torchvision's kernels."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torchvision
from torch import Tensor

from .soft_nms import soft_nms

__all__ = ["nms", "batched_nms"]

_NMS_TYPES = ("nms", "soft_nms")
_COMMON_KEYS = {"type", "iou_threshold", "class_agnostic", "split_thr", "max_num"}
_SOFT_KEYS = {"sigma", "min_score", "method"}


def _kernel_dtype(t: Tensor) -> Tensor:
    # torchvision's kernels take float32/float64; half and bfloat16 go through float32.
    return t if t.dtype in (torch.float32, torch.float64) else t.float()


def nms(boxes: Tensor, scores: Tensor, iou_threshold: float) -> Tensor:
    """Greedy hard NMS.

    Args:
        boxes: ``(N, 4)`` boxes ``x1, y1, x2, y2``.
        scores: ``(N,)`` scores.
        iou_threshold: boxes overlapping a kept box with IoU ``>`` this are removed.

    Returns:
        ``(K,)`` long indices of the kept boxes, sorted by decreasing score.
    """
    if boxes.numel() == 0:
        return torch.empty((0,), dtype=torch.long, device=boxes.device)
    boxes = _kernel_dtype(boxes)
    return torchvision.ops.nms(boxes, scores.to(boxes.dtype), float(iou_threshold))


def _check_cfg(nms_cfg: Mapping[str, Any]) -> str:
    nms_type = nms_cfg.get("type", "nms")
    if nms_type not in _NMS_TYPES:
        raise ValueError(f"batched_nms: nms_cfg.type must be one of {_NMS_TYPES}, got {nms_type!r}")
    allowed = _COMMON_KEYS | (_SOFT_KEYS if nms_type == "soft_nms" else set())
    unknown = sorted(set(nms_cfg) - allowed)
    if unknown:
        raise TypeError(
            f"batched_nms: unknown nms_cfg keys {unknown} for type {nms_type!r}; "
            f"allowed keys are {sorted(allowed)}"
        )
    return str(nms_type)


def _offset_boxes(boxes: Tensor, idxs: Tensor) -> Tensor:
    # Shift every class to its own region so that boxes of different classes never overlap.
    # Shifting by -min first keeps the regions apart even for negative coordinates.
    lo, hi = boxes.min(), boxes.max()
    offsets = idxs.to(boxes) * (hi - lo + 1)
    return boxes - lo + offsets[:, None]


def batched_nms(
    boxes: Tensor,
    scores: Tensor,
    idxs: Tensor,
    nms_cfg: Mapping[str, Any] | None,
    class_agnostic: bool = False,
) -> tuple[Tensor, Tensor]:
    """NMS applied independently per category (MMCV semantics).

    Args:
        boxes: ``(N, 4)`` boxes ``x1, y1, x2, y2``.
        scores: ``(N,)`` scores.
        idxs: ``(N,)`` category of each box; boxes of different categories
            never suppress each other unless ``class_agnostic``.
        nms_cfg: ``dict(type='nms' | 'soft_nms', iou_threshold=0.5)``; soft NMS
            also takes ``sigma``, ``min_score``, ``method``. Optional keys:
            ``class_agnostic`` (overrides the argument), ``split_thr`` (above
            this many boxes, run one NMS per category; default 10000) and
            ``max_num`` (keep at most this many, -1 = all). ``None`` only sorts.
        class_agnostic: suppress across categories.

    Returns:
        ``(dets, keep)``: ``dets`` ``(K, 5)`` rows ``x1, y1, x2, y2, score``
        sorted by decreasing score (soft NMS reports the decayed scores) and
        ``keep`` ``(K,)`` the indices of those boxes in the input.
    """
    if nms_cfg is None:
        scores, inds = scores.sort(descending=True)
        return torch.cat([boxes[inds], scores[:, None]], -1), inds
    cfg = dict(nms_cfg)
    nms_type = _check_cfg(cfg)
    cfg.pop("type", None)
    class_agnostic = bool(cfg.pop("class_agnostic", class_agnostic))
    split_thr = int(cfg.pop("split_thr", 10000))
    max_num = int(cfg.pop("max_num", -1))
    iou_threshold = float(cfg.pop("iou_threshold", 0.5 if nms_type == "nms" else 0.3))

    if boxes.numel() == 0:
        empty = boxes.new_zeros((0, 5))
        return empty, torch.empty((0,), dtype=torch.long, device=boxes.device)

    if class_agnostic or boxes.shape[0] < split_thr:
        boxes_for_nms = boxes if class_agnostic else _offset_boxes(boxes, idxs)
        keep, kept_scores = _run(nms_type, boxes_for_nms, scores, iou_threshold, cfg)
    else:
        keep, kept_scores = _per_class(nms_type, boxes, scores, idxs, iou_threshold, cfg)

    if max_num > 0:
        keep, kept_scores = keep[:max_num], kept_scores[:max_num]
    return torch.cat([boxes[keep], kept_scores[:, None].to(boxes.dtype)], -1), keep


def _run(
    nms_type: str, boxes: Tensor, scores: Tensor, iou_threshold: float, cfg: dict[str, Any]
) -> tuple[Tensor, Tensor]:
    """``(keep, kept_scores)`` of one NMS call, sorted by decreasing (decayed) score."""
    if nms_type == "nms":
        keep = nms(boxes, scores, iou_threshold)
        return keep, scores[keep]
    dets, keep = soft_nms(boxes, scores, iou_threshold=iou_threshold, **cfg)
    return keep, dets[:, -1].to(scores.dtype)


def _per_class(
    nms_type: str, boxes: Tensor, scores: Tensor, idxs: Tensor, iou_threshold: float, cfg: dict[str, Any]
) -> tuple[Tensor, Tensor]:
    # Many boxes: one NMS per category is cheaper than one over all (MMCV's split_thr).
    keeps, new_scores = [], []
    for cls in torch.unique(idxs):
        mask = (idxs == cls).nonzero(as_tuple=False).view(-1)
        keep, kept_scores = _run(nms_type, boxes[mask], scores[mask], iou_threshold, cfg)
        keeps.append(mask[keep])
        new_scores.append(kept_scores)
    keep = torch.cat(keeps)
    kept_scores, order = torch.cat(new_scores).sort(descending=True, stable=True)
    return keep[order], kept_scores
