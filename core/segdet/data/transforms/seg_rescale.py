"""Rescale the segmentation maps only (MMSegmentation's ``SegRescale``)."""
from __future__ import annotations

from typing import Any

import cv2

__all__ = ["SegRescale"]


class SegRescale:
    """Resize every map in ``seg_fields`` by ``scale_factor`` with nearest-neighbour sampling.

    Args:
        scale_factor: e.g. 0.125 for labels at the stride of a 1/8 feature map (default 1: no-op).

    The new size is ``(int(w * scale_factor + 0.5), int(h * scale_factor + 0.5))``, as MMCV's
    ``imrescale`` with a float scale.
    """

    def __init__(self, scale_factor: float = 1) -> None:
        if scale_factor <= 0:
            raise ValueError(f"SegRescale: scale_factor must be positive, got {scale_factor}")
        self.scale_factor = scale_factor

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        if self.scale_factor == 1:
            return results
        for key in results.get("seg_fields", []):
            seg = results[key]
            h, w = seg.shape[:2]
            size = (max(int(w * self.scale_factor + 0.5), 1), max(int(h * self.scale_factor + 0.5), 1))
            results[key] = cv2.resize(seg, size, interpolation=cv2.INTER_NEAREST)
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(scale_factor={self.scale_factor})"
