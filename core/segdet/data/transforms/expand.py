"""Place the image on a larger mean-filled canvas (MMDetection 2.x's ``Expand``, SSD's zoom-out)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["Expand"]


class Expand:
    """With probability ``prob``, put the image at a random place on a canvas ``ratio`` times its
    size (``ratio`` uniform in ``ratio_range``) filled with ``mean``; boxes shift with it, masks and
    semantic maps grow with the canvas (masks with 0, maps with ``seg_ignore_label``).

    Args:
        mean: fill colour, given in RGB order like ``Normalize``'s mean. Default (0, 0, 0).
        to_rgb: ``mean`` is RGB while the image is still BGR, so it is reversed. Default True.
        ratio_range: ``(min, max)`` canvas / image size ratio, ``1 <= min <= max``. Default (1, 4).
        seg_ignore_label: fill of semantic maps outside the image; required when maps are present.
        prob: probability of expanding. Default 0.5.

    Keys: reads and updates ``img``, ``img_shape``, every ``bbox_fields`` / ``mask_fields`` /
    ``seg_fields`` entry. Shapes: (H, W, C) -> (int(H * ratio), int(W * ratio), C).
    """

    def __init__(self, mean: Sequence[float] = (0, 0, 0), to_rgb: bool = True,
                 ratio_range: tuple[float, float] = (1, 4), seg_ignore_label: int | None = None,
                 prob: float = 0.5) -> None:
        lo, hi = (float(r) for r in ratio_range)
        if not 1.0 <= lo <= hi:
            raise ValueError(f"Expand: ratio_range must satisfy 1 <= min <= max, got {tuple(ratio_range)}")
        self.to_rgb = to_rgb
        self.mean = tuple(mean)[::-1] if to_rgb else tuple(mean)
        self.ratio_range = (lo, hi)
        self.seg_ignore_label = seg_ignore_label
        self.prob = prob

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        if np.random.uniform(0, 1) > self.prob:
            return results
        if results.get("img_fields", ["img"]) != ["img"]:
            raise ValueError(f"Expand handles one image field, got img_fields={results['img_fields']}")
        img = results["img"]
        h, w = img.shape[:2]
        ratio = np.random.uniform(*self.ratio_range)
        eh, ew = int(h * ratio), int(w * ratio)
        left = int(np.random.uniform(0, ew - w))
        top = int(np.random.uniform(0, eh - h))
        canvas = np.empty((eh, ew, *img.shape[2:]), img.dtype)
        canvas[...] = np.asarray(self.mean, dtype=img.dtype) if img.ndim == 3 else self.mean[0]
        canvas[top:top + h, left:left + w] = img
        results["img"] = canvas
        results["img_shape"] = canvas.shape
        shift = np.array([left, top, left, top], dtype=np.float32)
        for key in results.get("bbox_fields", []):
            results[key] = (results[key] + shift).astype(results[key].dtype)
        for key in results.get("mask_fields", []):
            masks = results[key]
            grown = np.zeros((masks.shape[0], eh, ew), masks.dtype)
            grown[:, top:top + h, left:left + w] = masks
            results[key] = grown
        for key in results.get("seg_fields", []):
            if self.seg_ignore_label is None:
                raise ValueError(f"Expand: results hold the semantic map {key!r}; set seg_ignore_label "
                                 "(e.g. 255) to fill it outside the image")
            seg = results[key]
            grown = np.full((eh, ew), self.seg_ignore_label, seg.dtype)
            grown[top:top + h, left:left + w] = seg
            results[key] = grown
        return results

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(mean={self.mean}, to_rgb={self.to_rgb}, ratio_range={self.ratio_range}, "
                f"seg_ignore_label={self.seg_ignore_label}, prob={self.prob})")
