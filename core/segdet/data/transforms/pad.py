"""Pad image, masks and maps at the bottom and right."""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import cv2
import numpy as np

__all__ = ["Pad", "pad_array"]


_CV_DTYPES = (np.uint8, np.int8, np.uint16, np.int16, np.int32, np.float32, np.float64)


def pad_array(arr: np.ndarray, h: int, w: int, value: float) -> np.ndarray:
    """``arr`` (H, W[, C]) padded bottom/right to (h, w[, C]) with ``value``."""
    if arr.shape[0] == h and arr.shape[1] == w:
        return arr
    if arr.dtype in _CV_DTYPES and (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] <= 4)):
        # one pass instead of fill + copy
        out = cv2.copyMakeBorder(np.ascontiguousarray(arr), 0, h - arr.shape[0], 0, w - arr.shape[1],
                                 cv2.BORDER_CONSTANT, value=(value,) * 4)
        return out.reshape(h, w, *arr.shape[2:])
    out = np.full((h, w, *arr.shape[2:]), value, dtype=arr.dtype)
    out[: arr.shape[0], : arr.shape[1]] = arr
    return out


class Pad:
    """Pad to a fixed ``size`` or to a multiple of ``size_divisor`` (or to a square).

    Args:
        size: ``(h, w)`` target. Exactly one of ``size``, ``size_divisor``, ``pad_to_square``.
        size_divisor: pad height and width up to multiples of this.
        pad_to_square: pad to the longer side.
        pad_val: image fill (a number, or ``dict(img=0, masks=0, seg=255)``). Default 0.
        seg_pad_val: semantic-map fill (MMSegmentation's name). Default 255 (ignored).
    """

    def __init__(self, size: tuple[int, int] | None = None, size_divisor: int | None = None,
                 pad_to_square: bool = False, pad_val: float | Mapping[str, float] = 0,
                 seg_pad_val: int = 255) -> None:
        if sum([size is not None, size_divisor is not None, pad_to_square]) != 1:
            raise ValueError("Pad: give exactly one of size, size_divisor or pad_to_square=True")
        self.size = size
        self.size_divisor = size_divisor
        self.pad_to_square = pad_to_square
        if isinstance(pad_val, Mapping):
            self.img_val = float(pad_val.get("img", 0))
            self.seg_val = int(pad_val.get("seg", seg_pad_val))
        else:
            self.img_val, self.seg_val = float(pad_val), seg_pad_val

    def _target(self, h: int, w: int) -> tuple[int, int]:
        if self.size is not None:
            return max(h, self.size[0]), max(w, self.size[1])
        if self.pad_to_square:
            side = max(h, w)
            return side, side
        d = self.size_divisor or 1
        return int(math.ceil(h / d) * d), int(math.ceil(w / d) * d)

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        h, w = results["img"].shape[:2]
        th, tw = self._target(h, w)
        for key in results.get("img_fields", ["img"]):
            results[key] = pad_array(results[key], th, tw, self.img_val)
        for key in results.get("mask_fields", []):
            masks = results[key]
            out = np.zeros((len(masks), th, tw), dtype=np.uint8)
            out[:, :h, :w] = masks
            results[key] = out
        for key in results.get("seg_fields", []):
            results[key] = pad_array(results[key], th, tw, self.seg_val)
        results["pad_shape"] = results["img"].shape
        results["pad_fixed_size"] = self.size
        results["pad_size_divisor"] = self.size_divisor
        return results

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(size={self.size}, size_divisor={self.size_divisor}, "
                f"pad_to_square={self.pad_to_square}, pad_val={self.img_val}, seg_pad_val={self.seg_val})")
