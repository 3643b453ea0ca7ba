"""Random horizontal / vertical / diagonal flip of image, boxes, masks and maps."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import cv2
import numpy as np

__all__ = ["RandomFlip", "flip_boxes"]

_DIRECTIONS = ("horizontal", "vertical", "diagonal")


def flip_boxes(boxes: np.ndarray, img_shape: Sequence[int], direction: str) -> np.ndarray:
    """Flip (N, 4k) x1y1x2y2 boxes inside an image of ``img_shape`` (h, w, ...)."""
    h, w = img_shape[:2]
    out = boxes.copy()
    if direction in ("horizontal", "diagonal"):
        out[..., 0::4] = w - boxes[..., 2::4]
        out[..., 2::4] = w - boxes[..., 0::4]
    if direction in ("vertical", "diagonal"):
        src = out.copy()
        out[..., 1::4] = h - src[..., 3::4]
        out[..., 3::4] = h - src[..., 1::4]
    return out


_CV_FLIP_CODES = {"horizontal": 1, "vertical": 0, "diagonal": -1}
_CV_DTYPES = (np.uint8, np.int8, np.uint16, np.int16, np.int32, np.float32, np.float64)


def _cv_ok(arr: np.ndarray) -> bool:
    """OpenCV handles (H, W) and (H, W, C<=512) arrays of its own depths."""
    return arr.dtype in _CV_DTYPES and (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] <= 512))


def _flip_array(arr: np.ndarray, direction: str, spatial: tuple[int, int] = (0, 1)) -> np.ndarray:
    """A contiguous flipped copy (cv2.flip where it applies: ~20x faster than a strided NumPy copy)."""
    code = _CV_FLIP_CODES[direction]
    if arr.size == 0:  # e.g. (0, H, W) masks after a crop removed every instance
        return arr.copy()
    if spatial == (0, 1) and _cv_ok(arr):
        return cv2.flip(np.ascontiguousarray(arr), code).reshape(arr.shape)
    if spatial == (1, 2) and arr.ndim == 3 and arr.dtype in _CV_DTYPES:  # (K, H, W) masks, K may be 0
        out = np.empty_like(arr)
        for i, plane in enumerate(arr):
            out[i] = cv2.flip(np.ascontiguousarray(plane), code)
        return out
    axes = {"horizontal": (spatial[1],), "vertical": (spatial[0],), "diagonal": spatial}[direction]
    return np.ascontiguousarray(np.flip(arr, axis=axes))


class RandomFlip:
    """Flip with probability ``flip_ratio`` (``prob`` is MMSegmentation's name for it).

    Args:
        flip_ratio: probability, or a list of probabilities (one per direction). ``None``:
            flip only when ``results['flip']`` says so (test-time augmentation).
        direction: 'horizontal', 'vertical', 'diagonal', or a list of them.
        prob: alias of ``flip_ratio`` used by MMSegmentation configs.
    """

    def __init__(self, flip_ratio: float | Sequence[float] | None = None,
                 direction: str | Sequence[str] = "horizontal", prob: float | None = None) -> None:
        if flip_ratio is None:
            flip_ratio = prob
        directions = [direction] if isinstance(direction, str) else list(direction)
        for d in directions:
            if d not in _DIRECTIONS:
                raise ValueError(f"RandomFlip: direction must be one of {_DIRECTIONS}, got {d!r}")
        self.flip_ratio = flip_ratio
        self.directions = directions

    def _choose(self) -> str | None:
        if self.flip_ratio is None:
            return None
        if isinstance(self.flip_ratio, (list, tuple)):
            probs = list(self.flip_ratio)
            choices = [*self.directions, None]
            probs.append(1 - sum(probs))
            return choices[np.random.choice(len(choices), p=probs)]
        if np.random.rand() < cast(float, self.flip_ratio):
            return self.directions[np.random.randint(len(self.directions))]
        return None

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        if "flip" not in results:
            direction = self._choose()
            results["flip"] = direction is not None
            results["flip_direction"] = direction
        if "flip_direction" not in results or results["flip_direction"] is None and results["flip"]:
            results["flip_direction"] = self.directions[0]
        if not results["flip"]:
            return results
        direction = results["flip_direction"]
        for key in results.get("img_fields", ["img"]):
            results[key] = _flip_array(results[key], direction)
        for key in results.get("bbox_fields", []):
            results[key] = flip_boxes(results[key], results["img_shape"], direction)
        for key in results.get("mask_fields", []):
            results[key] = _flip_array(results[key], direction, (1, 2))
        for key in results.get("seg_fields", []):
            results[key] = _flip_array(results[key], direction)
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(flip_ratio={self.flip_ratio}, direction={self.directions})"
