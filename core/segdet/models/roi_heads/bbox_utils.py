"""Box <-> RoI conversions and the forward mapping of boxes into a test-time augmentation."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

__all__ = ["bbox2roi", "roi2bbox", "bbox_mapping", "bbox_flip", "scale_factor_tensor"]


def bbox2roi(bbox_list: Sequence[Tensor]) -> Tensor:
    """Boxes of every image as one ``(sum N_i, 5)`` tensor ``batch_index, x1, y1, x2, y2``.

    Args:
        bbox_list: per image ``(N_i, 4+)`` boxes (extra columns such as scores are dropped).

    Example:
        >>> bbox2roi([torch.zeros(2, 4), torch.ones(1, 5)]).shape
        torch.Size([3, 5])
    """
    rois = []
    for img_id, bboxes in enumerate(bbox_list):
        inds = bboxes.new_full((bboxes.shape[0], 1), float(img_id))
        rois.append(torch.cat([inds, bboxes[:, :4]], dim=1))
    if not rois:
        return torch.zeros((0, 5))
    return torch.cat(rois, dim=0)


def roi2bbox(rois: Tensor) -> list[Tensor]:
    """Inverse of :func:`bbox2roi`: ``(N, 5)`` RoIs -> per image ``(N_i, 4)`` boxes.

    Images are ``0 .. max(batch_index)``; an image without RoIs gets a ``(0, 4)`` tensor.
    """
    if rois.numel() == 0:
        return []
    img_ids = rois[:, 0].long()
    return [rois[img_ids == i, 1:] for i in range(int(img_ids.max()) + 1)]


def scale_factor_tensor(meta: Mapping[str, Any], ref: Tensor) -> Tensor:
    """``meta['scale_factor']`` (a float, ``(w, h)`` or ``(w, h, w, h)``) as a 4-vector like ``ref``."""
    scale = np.asarray(meta.get("scale_factor", 1.0), dtype=np.float32).reshape(-1)
    if scale.size == 1:
        scale = np.repeat(scale, 4)
    elif scale.size == 2:
        scale = np.tile(scale, 2)
    return ref.new_tensor(scale)


def bbox_flip(bboxes: Tensor, img_shape: Sequence[int], direction: str = "horizontal") -> Tensor:
    """Mirror ``(N, 4*K)`` boxes inside an image of ``img_shape`` ``(h, w[, c])``."""
    if direction not in ("horizontal", "vertical", "diagonal"):
        raise ValueError(f"bbox_flip: direction must be horizontal, vertical or diagonal, got {direction!r}")
    h, w = float(img_shape[0]), float(img_shape[1])
    out = bboxes.clone()
    if direction in ("horizontal", "diagonal"):
        out[:, 0::4] = w - bboxes[:, 2::4]
        out[:, 2::4] = w - bboxes[:, 0::4]
    if direction in ("vertical", "diagonal"):
        out[:, 1::4] = h - bboxes[:, 3::4]
        out[:, 3::4] = h - bboxes[:, 1::4]
    return out


def bbox_mapping(bboxes: Tensor, meta: Mapping[str, Any]) -> Tensor:
    """Original-image boxes ``(N, 4)`` -> boxes in one augmented view (resize, then flip).

    The inverse of :func:`segdet.api.bbox_mapping_back`; ``meta`` is that view's image meta
    (``scale_factor``, ``img_shape``, ``flip``, ``flip_direction``).
    """
    out = bboxes * scale_factor_tensor(meta, bboxes)
    if meta.get("flip", False):
        out = bbox_flip(out, meta["img_shape"], meta.get("flip_direction") or "horizontal")
    return out
