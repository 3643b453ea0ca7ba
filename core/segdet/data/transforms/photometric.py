"""Random brightness, contrast, saturation and hue (MMDetection's PhotoMetricDistortion)."""
from __future__ import annotations

from typing import Any

import cv2
import numpy as np

__all__ = ["PhotoMetricDistortion"]


class PhotoMetricDistortion:
    """Apply, each with probability 0.5: brightness, contrast (before or after the HSV part),
    saturation, hue; then a random channel permutation (MMDetection 2.x order).

    Args:
        brightness_delta: shift in [-delta, delta]. Default 32.
        contrast_range: multiply by a factor in this range. Default (0.5, 1.5).
        saturation_range: multiply saturation by a factor in this range. Default (0.5, 1.5).
        hue_delta: shift hue (degrees, OpenCV's 0-360 float scale) in [-delta, delta]. Default 18.
    """

    def __init__(self, brightness_delta: int = 32, contrast_range: tuple[float, float] = (0.5, 1.5),
                 saturation_range: tuple[float, float] = (0.5, 1.5), hue_delta: int = 18) -> None:
        self.brightness_delta = brightness_delta
        self.contrast_lower, self.contrast_upper = contrast_range
        self.saturation_lower, self.saturation_upper = saturation_range
        self.hue_delta = hue_delta

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        img = results["img"].astype(np.float32)
        rand = np.random.randint
        if rand(2):
            img += np.random.uniform(-self.brightness_delta, self.brightness_delta)
        contrast_first = rand(2)
        if contrast_first == 1 and rand(2):
            img *= np.random.uniform(self.contrast_lower, self.contrast_upper)
        hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)  # float input: H in [0, 360), S in [0, 1], V = max
        if rand(2):
            hsv[..., 1] *= np.random.uniform(self.saturation_lower, self.saturation_upper)
        if rand(2):
            hsv[..., 0] = (hsv[..., 0] + np.random.uniform(-self.hue_delta, self.hue_delta)) % 360
        img = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)
        if contrast_first == 0 and rand(2):
            img *= np.random.uniform(self.contrast_lower, self.contrast_upper)
        if rand(2):
            img = img[..., np.random.permutation(3)]
        results["img"] = np.ascontiguousarray(img, dtype=np.float32)
        return results

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(brightness_delta={self.brightness_delta}, "
                f"contrast_range=({self.contrast_lower}, {self.contrast_upper}), "
                f"saturation_range=({self.saturation_lower}, {self.saturation_upper}), hue_delta={self.hue_delta})")
