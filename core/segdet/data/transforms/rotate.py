"""Random rotation of the image, its maps, instance masks and boxes (MMSegmentation's ``RandomRotate``)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

__all__ = ["RandomRotate", "rotate_image", "rotate_boxes"]


def rotate_image(img: np.ndarray, angle: float, center: tuple[float, float] | None = None,
                 border_value: float | Sequence[float] = 0, auto_bound: bool = False,
                 interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
    """Rotate ``img`` (H, W[, C]) by ``angle`` degrees clockwise (MMCV's ``imrotate`` convention).

    Args:
        center: rotation centre (x, y); default the image centre ``((w - 1) / 2, (h - 1) / 2)``.
        border_value: fill of pixels coming from outside the image.
        auto_bound: grow the output to hold the whole rotated image (needs the default centre).
        interpolation: an OpenCV flag; ``cv2.INTER_NEAREST`` for label maps.
    """
    if center is not None and auto_bound:
        raise ValueError("RandomRotate: auto_bound needs the default center (center=None)")
    h, w = img.shape[:2]
    matrix = _matrix(img.shape, angle, center, auto_bound)
    if auto_bound:
        cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
        w, h = int(np.round(w * cos + h * sin)), int(np.round(h * cos + w * sin))
    if isinstance(border_value, (int, float)):
        border: Any = (border_value,) * 4
    else:
        border = tuple(border_value)
    return cv2.warpAffine(img, matrix, (w, h), flags=interpolation, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=border)


def _matrix(shape: Sequence[int], angle: float, center: tuple[float, float] | None,
            auto_bound: bool) -> np.ndarray:
    """The (2, 3) pixel-centre map :func:`rotate_image` applies to an image of ``shape``."""
    h, w = shape[:2]
    cx, cy = ((w - 1) * 0.5, (h - 1) * 0.5) if center is None else center
    matrix = cv2.getRotationMatrix2D((cx, cy), -angle, 1.0)
    if auto_bound:
        cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
        matrix[0, 2] += (w * cos + h * sin - w) * 0.5
        matrix[1, 2] += (h * cos + w * sin - h) * 0.5
    return matrix


def rotate_boxes(boxes: np.ndarray, matrix: np.ndarray, out_hw: tuple[int, int]) -> np.ndarray:
    """Boxes (N, 4) x1y1x2y2 -> the axis-aligned boxes around their rotated corners, clipped.

    Box edges lie on pixel borders and ``matrix`` maps pixel centres, hence the half-pixel shifts.
    """
    x1, y1, x2, y2 = (boxes[:, i] for i in range(4))
    corners = np.stack([np.stack([x1, y1], -1), np.stack([x2, y1], -1),
                        np.stack([x1, y2], -1), np.stack([x2, y2], -1)], 1) - 0.5  # (N, 4, 2)
    moved = corners @ matrix[:, :2].T + matrix[:, 2] + 0.5
    h, w = out_hw
    out = np.concatenate([moved.min(1), moved.max(1)], axis=1)
    out[:, 0::2] = np.clip(out[:, 0::2], 0, w)
    out[:, 1::2] = np.clip(out[:, 1::2], 0, h)
    return out.astype(np.float32)


class RandomRotate:
    """With probability ``prob``, rotate the image, its maps, masks and boxes by one random angle.

    Args:
        prob: probability of rotating (0..1).
        degree: angle range: a positive number ``d`` means ``(-d, d)``; or a pair ``(min, max)``.
        pad_val: image fill of uncovered pixels (default 0).
        seg_pad_val: label fill of uncovered pixels (default 255, ignored by losses and metrics).
        center: rotation centre (x, y); default the image centre.
        auto_bound: grow the output to hold the whole rotated image.

    The image is interpolated bilinearly, label maps and instance masks (``mask_fields``, (K, H, W))
    by nearest neighbour, so labels stay labels. Boxes become the axis-aligned boxes around their
    rotated corners (a loose fit for angles that are not multiples of 90 degrees, as MMDetection's
    ``Rotate``), clipped to the image; an instance rotated wholly out loses box, label and mask.
    """

    def __init__(self, prob: float, degree: float | Sequence[float], pad_val: float = 0,
                 seg_pad_val: int = 255, center: tuple[float, float] | None = None,
                 auto_bound: bool = False) -> None:
        if not 0 <= prob <= 1:
            raise ValueError(f"RandomRotate: prob must lie in [0, 1], got {prob}")
        if isinstance(degree, (int, float)):
            if degree <= 0:
                raise ValueError(f"RandomRotate: degree must be positive, got {degree}")
            degree = (-degree, degree)
        if len(degree) != 2:
            raise ValueError(f"RandomRotate: degree must be a number or a pair (min, max), got {degree!r}")
        self.prob = prob
        self.degree = (float(min(degree)), float(max(degree)))
        self.pal_val = pad_val
        self.seg_pad_val = seg_pad_val
        self.center = center
        self.auto_bound = auto_bound

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        if np.random.rand() >= self.prob:
            return results
        angle = float(np.random.uniform(*self.degree))
        shape = results["img"].shape
        for key in results.get("img_fields", ["img"]):
            results[key] = rotate_image(results[key], angle, self.center, self.pal_val, self.auto_bound)
        for key in results.get("seg_fields", []):
            results[key] = rotate_image(results[key], angle, self.center, self.seg_pad_val, self.auto_bound,
                                        interpolation=cv2.INTER_NEAREST)
        out_hw = results["img"].shape[:2]
        for key in results.get("mask_fields", []):
            masks = results[key]
            results[key] = (np.stack([rotate_image(m, angle, self.center, 0, self.auto_bound,
                                                   interpolation=cv2.INTER_NEAREST) for m in masks])
                            if len(masks) else np.zeros((0, *out_hw), np.uint8))
        matrix = _matrix(shape, angle, self.center, self.auto_bound)
        for key in results.get("bbox_fields", []):
            results[key] = rotate_boxes(np.asarray(results[key], np.float32).reshape(-1, 4), matrix, out_hw)
        self._drop_empty(results)
        results["img_shape"] = results["img"].shape
        results["rotate_degree"] = angle
        return results

    @staticmethod
    def _drop_empty(results: dict[str, Any]) -> None:
        """Instances rotated out of the image lose their box, label and mask together."""
        if "gt_bboxes" not in results:
            return
        boxes = results["gt_bboxes"]
        keep = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        if keep.all():
            return
        results["gt_bboxes"] = boxes[keep]
        if "gt_labels" in results:
            results["gt_labels"] = results["gt_labels"][keep]
        for key in results.get("mask_fields", []):
            results[key] = results[key][keep]

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(prob={self.prob}, degree={self.degree}, pad_val={self.pal_val}, "
                f"seg_pad_val={self.seg_pad_val}, center={self.center}, auto_bound={self.auto_bound})")
