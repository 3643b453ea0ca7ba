"""High-level entry points: build a model from a config and run it on images.

Detection: ``init_detector``, ``inference_detector``, ``show_result``.
Segmentation (``segdet.apis.seg_inference``): ``init_segmentor``, ``inference_segmentor``.
Speed-ups (``segdet.apis.speedups``): ``fuse_conv_bn``, ``to_channels_last``, ``compile_model``.
"""
from __future__ import annotations

from typing import Any

from .inference import LoadImageFromArray, inference_detector, init_detector, show_result
from .speedups import (
    CompileUnavailableError,
    check_compile_available,
    compile_model,
    fuse_conv_bn,
    to_channels_last,
)

__all__ = [
    "CompileUnavailableError",
    "LoadImageFromArray",
    "check_compile_available",
    "compile_model",
    "fuse_conv_bn",
    "inference_detector",
    "inference_segmentor",
    "init_detector",
    "init_segmentor",
    "show_result",
    "to_channels_last",
]

_SEGMENTATION = ("init_segmentor", "inference_segmentor")


def __getattr__(name: str) -> Any:
    # Segmentation helpers live in their own module, imported on first use.
    if name in _SEGMENTATION:
        from . import seg_inference

        return getattr(seg_inference, name)
    raise AttributeError(f"module 'segdet.apis' has no attribute {name!r}")
