"""Random crop of image, boxes, masks and maps (MMDetection 2.x + MMSegmentation's cat_max_ratio)."""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["RandomCrop"]

_TYPES = ("absolute", "absolute_range", "relative", "relative_range")


def _mask_boxes(masks: np.ndarray) -> np.ndarray:
    """Tight x1y1x2y2 boxes (K, 4) float32 of (K, H, W) masks; an empty mask gives zeros."""
    boxes = np.zeros((len(masks), 4), dtype=np.float32)
    for i, mask in enumerate(masks):
        xs = np.flatnonzero(mask.any(axis=0))
        ys = np.flatnonzero(mask.any(axis=1))
        if len(xs) and len(ys):
            boxes[i] = (xs[0], ys[0], xs[-1] + 1, ys[-1] + 1)
    return boxes


class RandomCrop:
    """Crop a random window of ``crop_size``.

    Args:
        crop_size: ``(h, w)``; its meaning depends on ``crop_type``.
        crop_type: 'absolute' (pixels), 'absolute_range' (sample h, w in [crop_size[0], crop_size[1]]),
            'relative' (fractions of the image), 'relative_range' (fractions sampled in [crop_size, 1]).
        allow_negative_crop: keep a crop that contains no box (else the sample is skipped: ``None``).
        bbox_clip_border: clip boxes to the crop. Default True.
        cat_max_ratio: retry (up to 10 times) until no single class covers more than this share of
            the crop's semantic map (MMSegmentation). Default 1.0: no constraint.
        ignore_index: label not counted by ``cat_max_ratio``. Default 255.
        recompute_bbox: after cropping, replace ``gt_bboxes`` by the tight boxes of the cropped
            ``gt_masks`` (an instance whose mask left the crop gets a zero box). Default False.
    """

    def __init__(self, crop_size: tuple[float, float], crop_type: str = "absolute",
                 allow_negative_crop: bool = False, bbox_clip_border: bool = True,
                 cat_max_ratio: float = 1.0, ignore_index: int = 255, recompute_bbox: bool = False) -> None:
        if crop_type not in _TYPES:
            raise ValueError(f"RandomCrop: crop_type must be one of {_TYPES}, got {crop_type!r}")
        self.crop_size = tuple(crop_size)
        self.crop_type = crop_type
        self.allow_negative_crop = allow_negative_crop
        self.bbox_clip_border = bbox_clip_border
        self.cat_max_ratio = cat_max_ratio
        self.ignore_index = ignore_index
        self.recompute_bbox = recompute_bbox

    def _size(self, h: int, w: int) -> tuple[int, int]:
        ch, cw = self.crop_size
        if self.crop_type == "absolute":
            return min(int(ch), h), min(int(cw), w)
        if self.crop_type == "absolute_range":
            lo, hi = int(ch), int(cw)  # both bounds capped by the image, as MMDetection does
            return (int(np.random.randint(min(h, lo), min(h, hi) + 1)),
                    int(np.random.randint(min(w, lo), min(w, hi) + 1)))
        if self.crop_type == "relative":
            return int(h * ch + 0.5), int(w * cw + 0.5)
        rh, rw = np.random.uniform(ch, 1.0), np.random.uniform(cw, 1.0)
        return int(h * rh + 0.5), int(w * rw + 0.5)

    def _window(self, results: dict[str, Any]) -> tuple[int, int, int, int]:
        h, w = results["img"].shape[:2]
        ch, cw = self._size(h, w)
        for _ in range(10 if self.cat_max_ratio < 1.0 else 1):
            y0 = np.random.randint(0, h - ch + 1)
            x0 = np.random.randint(0, w - cw + 1)
            if self.cat_max_ratio >= 1.0 or "gt_semantic_seg" not in results:
                break
            seg = results["gt_semantic_seg"][y0:y0 + ch, x0:x0 + cw]
            labels, counts = np.unique(seg, return_counts=True)
            counts = counts[labels != self.ignore_index]
            if len(counts) > 1 and counts.max() / counts.sum() < self.cat_max_ratio:
                break
        return y0, x0, ch, cw

    def __call__(self, results: dict[str, Any]) -> dict[str, Any] | None:
        y0, x0, ch, cw = self._window(results)
        for key in results.get("img_fields", ["img"]):
            results[key] = results[key][y0:y0 + ch, x0:x0 + cw].copy()
        results["img_shape"] = results["img"].shape
        offset = np.array([x0, y0, x0, y0], dtype=np.float32)
        keep_all = None
        for key in results.get("bbox_fields", []):
            boxes = results[key] - offset
            if self.bbox_clip_border:
                boxes[:, 0::2] = np.clip(boxes[:, 0::2], 0, cw)
                boxes[:, 1::2] = np.clip(boxes[:, 1::2], 0, ch)
            valid = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
            if key == "gt_bboxes":
                if not valid.any() and not self.allow_negative_crop:
                    return None
                keep_all = valid
            results[key] = boxes[valid].astype(np.float32)
        if keep_all is not None:
            if "gt_labels" in results:
                results["gt_labels"] = results["gt_labels"][keep_all]
            for key in results.get("mask_fields", []):
                results[key] = results[key][keep_all][:, y0:y0 + ch, x0:x0 + cw].copy()
        else:
            for key in results.get("mask_fields", []):
                results[key] = results[key][:, y0:y0 + ch, x0:x0 + cw].copy()
        for key in results.get("seg_fields", []):
            results[key] = results[key][y0:y0 + ch, x0:x0 + cw].copy()
        if self.recompute_bbox and "gt_bboxes" in results and "gt_masks" in results:
            results["gt_bboxes"] = _mask_boxes(results["gt_masks"])
        return results

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(crop_size={self.crop_size}, crop_type={self.crop_type!r}, "
                f"allow_negative_crop={self.allow_negative_crop}, cat_max_ratio={self.cat_max_ratio}, "
                f"recompute_bbox={self.recompute_bbox})")
