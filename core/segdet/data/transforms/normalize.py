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

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        for key in results.get("img_fields", ["img"]):
            img = results[key].astype(np.float32)
            if self.to_rgb:
                img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
            # in place on a private float copy: one pass less than (img - mean) / std
            cv2.subtract(img, self.mean.reshape(1, -1).astype(np.float64), img)
            cv2.multiply(img, (1.0 / self.std).reshape(1, -1).astype(np.float64), img)
            results[key] = img
        results["img_norm_cfg"] = dict(mean=self.mean, std=self.std, to_rgb=self.to_rgb)
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(mean={self.mean.tolist()}, std={self.std.tolist()}, to_rgb={self.to_rgb})"
