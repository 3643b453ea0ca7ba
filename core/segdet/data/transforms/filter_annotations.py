"""Drop instances whose box or mask is too small (MMDetection 2.x's ``FilterAnnotations``)."""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["FilterAnnotations"]

_KEYS = ("gt_bboxes", "gt_labels", "gt_masks")


class FilterAnnotations:
    """Keep the instances whose box is wider *and* taller than ``min_gt_bbox_wh`` (``by_box``) and
    whose mask covers at least ``min_gt_mask_area`` pixels (``by_mask``); ``gt_bboxes``,
    ``gt_labels`` and ``gt_masks`` are filtered together.

    Args:
        min_gt_bbox_wh: ``(w, h)`` a box must exceed. Default (1., 1.).
        min_gt_mask_area: smallest mask area kept. Default 1.
        by_box: filter by box size. Default True.
        by_mask: filter by mask area (needs ``gt_masks``). Default False.
        keep_empty: as MMDetection 2.x: when no instance survives, return ``None`` so the data set
            draws another sample (True, default); False keeps the now empty sample.

    An image that had no instance to begin with is returned unchanged.
    """

    def __init__(self, min_gt_bbox_wh: tuple[float, float] = (1.0, 1.0), min_gt_mask_area: int = 1,
                 by_box: bool = True, by_mask: bool = False, keep_empty: bool = True) -> None:
        if not (by_box or by_mask):
            raise ValueError("FilterAnnotations: set by_box and/or by_mask, otherwise nothing is filtered")
        self.min_gt_bbox_wh = (float(min_gt_bbox_wh[0]), float(min_gt_bbox_wh[1]))
        self.min_gt_mask_area = min_gt_mask_area
        self.by_box = by_box
        self.by_mask = by_mask
        self.keep_empty = keep_empty

    def __call__(self, results: dict[str, Any]) -> dict[str, Any] | None:
        for key, needed in (("gt_bboxes", self.by_box), ("gt_masks", self.by_mask)):
            if needed and key not in results:
                raise KeyError(f"FilterAnnotations(by_{key[3:-1]}=True) needs results[{key!r}]: load it with "
                               "LoadAnnotations before this step")
        count = len(results["gt_bboxes"] if self.by_box else results["gt_masks"])
        if count == 0:
            return results
        keep = np.ones(count, dtype=bool)
        if self.by_box:
            boxes = results["gt_bboxes"]
            keep &= (boxes[:, 2] - boxes[:, 0] > self.min_gt_bbox_wh[0]) & \
                    (boxes[:, 3] - boxes[:, 1] > self.min_gt_bbox_wh[1])
        if self.by_mask:
            areas = results["gt_masks"].reshape(count, -1).astype(bool).sum(axis=1)
            keep &= areas >= self.min_gt_mask_area
        for key in _KEYS:
            if key in results:
                results[key] = results[key][keep]
        if not keep.any() and self.keep_empty:
            return None
        return results

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(min_gt_bbox_wh={self.min_gt_bbox_wh}, min_gt_mask_area="
                f"{self.min_gt_mask_area}, by_box={self.by_box}, by_mask={self.by_mask}, keep_empty={self.keep_empty})")
