"""Random rotation of the image and its segmentation maps (MMSegmentation's ``RandomRotate``)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

__all__ = ["RandomRotate", "rotate_image"]


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
    h, w = img.shape[:2]
    if center is not None and auto_bound:
        raise ValueError("RandomRotate: auto_bound needs the default center (center=None)")
    cx, cy = ((w - 1) * 0.5, (h - 1) * 0.5) if center is None else center
    matrix = cv2.getRotationMatrix2D((cx, cy), -angle, 1.0)
    if auto_bound:
        cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
        new_w = w * cos + h * sin
        new_h = h * cos + w * sin
        matrix[0, 2] += (new_w - w) * 0.5
        matrix[1, 2] += (new_h - h) * 0.5
        w, h = int(np.round(new_w)), int(np.round(new_h))
    if isinstance(border_value, (int, float)):
        border: Any = (border_value,) * 4
    else:
        border = tuple(border_value)
    return cv2.warpAffine(img, matrix, (w, h), flags=interpolation, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=border)


class RandomRotate:
    """With probability ``prob``, rotate the image and every map in ``seg_fields`` by one random angle.

    Args:
        prob: probability of rotating (0..1).
        degree: angle range: a positive number ``d`` means ``(-d, d)``; or a pair ``(min, max)``.
        pad_val: image fill of uncovered pixels (default 0).
        seg_pad_val: label fill of uncovered pixels (default 255, ignored by losses and metrics).
        center: rotation centre (x, y); default the image centre.
        auto_bound: grow the output to hold the whole rotated image.

    The image is interpolated bilinearly, label maps by nearest neighbour, so labels stay labels.
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
        results["img"] = rotate_image(results["img"], angle, self.center, self.pal_val, self.auto_bound)
        for key in results.get("seg_fields", []):
            results[key] = rotate_image(results[key], angle, self.center, self.seg_pad_val, self.auto_bound,
                                        interpolation=cv2.INTER_NEAREST)
        if self.auto_bound:
            results["img_shape"] = results["img"].shape
        results["rotate_degree"] = angle
        return results

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(prob={self.prob}, degree={self.degree}, pad_val={self.pal_val}, "
                f"seg_pad_val={self.seg_pad_val}, center={self.center}, auto_bound={self.auto_bound})")
