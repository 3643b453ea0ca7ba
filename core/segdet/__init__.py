"""segdet: detection and segmentation with MMDetection-style configs and entry-point plugins.

Importing ``segdet`` is cheap: names below are loaded on first use, so listing
components never imports torch.

    from segdet import Config, build, build_model, list_components
"""
from __future__ import annotations

from typing import Any

from ._lazy import lazy_attribute

__version__ = "0.1.0"

_LAZY = {
    "Config": "segdet.config:Config",
    "ConfigDict": "segdet.config:ConfigDict",
    "build": "segdet.registry:build",
    "register": "segdet.registry:register",
    "list_components": "segdet.registry:components",
    "build_model": "segdet.models.builder:build_model",
    "init_detector": "segdet.apis.inference:init_detector",
    "inference_detector": "segdet.apis.inference:inference_detector",
    "show_result": "segdet.apis.inference:show_result",
    "init_segmentor": "segdet.apis.seg_inference:init_segmentor",
    "inference_segmentor": "segdet.apis.seg_inference:inference_segmentor",
    "fuse_conv_bn": "segdet.apis.speedups:fuse_conv_bn",
    "to_channels_last": "segdet.apis.speedups:to_channels_last",
    "compile_model": "segdet.apis.speedups:compile_model",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    return lazy_attribute(__name__, _LAZY, name)


def __dir__() -> list[str]:
    return sorted(__all__)
