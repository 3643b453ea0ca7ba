"""SSD-style random crop whose IoU with every box reaches a sampled minimum (MMDetection 2.x)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["MinIoURandomCrop"]

_LABELS = {"gt_bboxes": "gt_labels", "gt_bboxes_ignore": "gt_labels_ignore"}
_MASKS = {"gt_bboxes": "gt_masks", "gt_bboxes_ignore": "gt_masks_ignore"}


def _iou(patch: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU (N,) of one x1y1x2y2 patch with (N, 4) boxes (no +1 on widths, as MMDetection 2.x)."""
    x1 = np.maximum(patch[0], boxes[:, 0])
    y1 = np.maximum(patch[1], boxes[:, 1])
    x2 = np.minimum(patch[2], boxes[:, 2])
    y2 = np.minimum(patch[3], boxes[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_p = (patch[2] - patch[0]) * (patch[3] - patch[1])
    area_b = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area_p + area_b - inter, 1e-6)


def _centres_inside(boxes: np.ndarray, patch: np.ndarray) -> np.ndarray:
    cx = (boxes[:, 0] + boxes[:, 2]) / 2
    cy = (boxes[:, 1] + boxes[:, 3]) / 2
    return (cx > patch[0]) & (cy > patch[1]) & (cx < patch[2]) & (cy < patch[3])


class MinIoURandomCrop:
    """Pick a mode from ``(1, *min_ious, 0)``: 1 keeps the image, otherwise up to 50 random patches
    (sides ``>= min_crop_size`` of the image's, aspect in [0.5, 2]) are tried until one has IoU
    ``>= mode`` with every box and holds at least one box centre; else another mode is drawn.
    Boxes whose centre lies in the patch are kept (clipped to it with ``bbox_clip_border``) with
    their labels and masks; image, masks and semantic maps are cropped to the patch.

    Args:
        min_ious: IoU thresholds to draw from. Default (0.1, 0.3, 0.5, 0.7, 0.9).
        min_crop_size: smallest patch side as a fraction of the image side. Default 0.3.
        bbox_clip_border: clip kept boxes to the patch. Default True.

    Keys: ``gt_bboxes`` pairs with ``gt_labels``/``gt_masks``, ``gt_bboxes_ignore`` with
    ``gt_labels_ignore``/``gt_masks_ignore``; needs ``bbox_fields``. Updates ``img_shape``.
    """

    def __init__(self, min_ious: Sequence[float] = (0.1, 0.3, 0.5, 0.7, 0.9), min_crop_size: float = 0.3,
                 bbox_clip_border: bool = True) -> None:
        if not 0.0 < min_crop_size <= 1.0:
            raise ValueError(f"MinIoURandomCrop: min_crop_size must be in (0, 1], got {min_crop_size}")
        self.min_ious = tuple(min_ious)
        self.sample_mode = (1, *self.min_ious, 0)
        self.min_crop_size = min_crop_size
        self.bbox_clip_border = bbox_clip_border
        self.mode: float = 1

    def _patch(self, h: int, w: int, boxes: np.ndarray, min_iou: float) -> np.ndarray | None:
        for _ in range(50):
            new_w = np.random.uniform(self.min_crop_size * w, w)
            new_h = np.random.uniform(self.min_crop_size * h, h)
            if not 0.5 <= new_h / new_w <= 2:
                continue
            # uniform(0, w - new_w): MMDetection 2.x writes uniform(w - new_w), numpy's (low, 1.0)
            left = np.random.uniform(0, w - new_w)
            top = np.random.uniform(0, h - new_h)
            patch = np.array((int(left), int(top), int(left + new_w), int(top + new_h)))
            if patch[2] == patch[0] or patch[3] == patch[1]:
                continue
            if len(boxes):
                if _iou(patch, boxes).min() < min_iou or not _centres_inside(boxes, patch).any():
                    continue
            return patch
        return None

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        if results.get("img_fields", ["img"]) != ["img"]:
            raise ValueError(f"MinIoURandomCrop handles one image field, got img_fields={results['img_fields']}")
        if "bbox_fields" not in results:
            raise ValueError("MinIoURandomCrop needs results['bbox_fields']: put it after LoadAnnotations(with_bbox=True)")
        img = results["img"]
        h, w = img.shape[:2]
        fields = [results[k] for k in results["bbox_fields"]]
        boxes = np.concatenate(fields, 0).reshape(-1, 4) if fields else np.zeros((0, 4), np.float32)
        while True:
            mode = self.sample_mode[np.random.randint(len(self.sample_mode))]
            self.mode = mode  # the last drawn mode, kept for inspection as MMDetection does
            if mode == 1:
                return results
            patch = self._patch(h, w, boxes, float(mode))
            if patch is not None:
                break
        x1, y1, x2, y2 = (int(v) for v in patch)
        cropped_masks: set[str] = set()
        if len(boxes):
            for key in results["bbox_fields"]:
                keep = _centres_inside(results[key], patch)
                kept = results[key][keep].copy()
                if self.bbox_clip_border:
                    kept[:, 2:] = kept[:, 2:].clip(max=patch[2:])
                    kept[:, :2] = kept[:, :2].clip(min=patch[:2])
                results[key] = (kept - np.array([x1, y1, x1, y1], kept.dtype)).astype(kept.dtype)
                label_key, mask_key = _LABELS.get(key), _MASKS.get(key)
                if label_key in results:
                    results[label_key] = results[label_key][keep]
                if mask_key in results:
                    results[mask_key] = results[mask_key][keep][:, y1:y2, x1:x2].copy()
                    cropped_masks.add(mask_key)
        results["img"] = img[y1:y2, x1:x2].copy()
        results["img_shape"] = results["img"].shape
        for key in results.get("mask_fields", []):
            if key not in cropped_masks:  # no boxes to pair with: crop them all
                results[key] = results[key][:, y1:y2, x1:x2].copy()
        for key in results.get("seg_fields", []):
            results[key] = results[key][y1:y2, x1:x2].copy()
        return results

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(min_ious={self.min_ious}, min_crop_size={self.min_crop_size}, "
                f"bbox_clip_border={self.bbox_clip_border})")
