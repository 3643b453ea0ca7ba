"""High-level entry points: build a model from a config and run it on images.

Detection: ``init_detector``, ``inference_detector``, ``show_result``.
Segmentation (``segdet.apis.seg_inference``): ``init_segmentor``, ``inference_segmentor``.
"""
from __future__ import annotations

from typing import Any

from .inference import LoadImageFromArray, inference_detector, init_detector, show_result

__all__ = [
    "LoadImageFromArray",
    "inference_detector",
    "inference_segmentor",
    "init_detector",
    "init_segmentor",
    "show_result",
]

_SEGMENTATION = ("init_segmentor", "inference_segmentor")


def __getattr__(name: str) -> Any:
    # Segmentation helpers live in their own module, imported on first use.
    if name in _SEGMENTATION:
        from . import seg_inference

        return getattr(seg_inference, name)
    raise AttributeError(f"module 'segdet.apis' has no attribute {name!r}")
