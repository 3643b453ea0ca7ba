"""Normalize the image with mean and std (optionally BGR -> RGB first)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

__all__ = ["Normalize"]


class Normalize:
    """``(img - mean) / std`` in float32; records ``img_norm_cfg``.

    Args:
        mean: per-channel mean (3 values, in the output channel order).
        std: per-channel std.
        to_rgb: convert BGR to RGB before normalizing. Default True.
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float], to_rgb: bool = True) -> None:
        self.mean = np.array(mean, dtype=np.float32)
        self.std = np.array(std, dtype=np.float32)
        self.to_rgb = to_rgb
        # out[c] = in[src(c)] / std[c] - mean[c] / std[c]: channel swap, scale and shift as one
        # 3x4 affine map, so cv2.transform does it in a single pass
        n = len(self.mean)
        self._affine = np.zeros((n, n + 1), np.float64)
        for c in range(n):
            self._affine[c, n - 1 - c if to_rgb else c] = 1.0 / float(self.std[c])
            self._affine[c, n] = -float(self.mean[c]) / float(self.std[c])

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        for key in results.get("img_fields", ["img"]):
            results[key] = self._normalize(results[key])
        results["img_norm_cfg"] = dict(mean=self.mean, std=self.std, to_rgb=self.to_rgb)
        return results

    def _normalize(self, img: np.ndarray) -> np.ndarray:
        img = np.ascontiguousarray(img, dtype=np.float32)  # a copy unless already float32
        if img.ndim == 3 and img.shape[2] == len(self.mean) == 3:
            return cv2.transform(img, self._affine)  # a new array: the input is never modified
        out = cv2.cvtColor(img, cv2.COLOR_BGR2RGB) if self.to_rgb else img.copy()
        return (out - self.mean) / self.std

    def __repr__(self) -> str:
        return f"{type(self).__name__}(mean={self.mean.tolist()}, std={self.std.tolist()}, to_rgb={self.to_rgb})"
