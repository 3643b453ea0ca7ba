"""Drawing of ground truth and predictions: the one place boxes, instance masks and semantic maps
are drawn, used by ``segdet browse-dataset``, ``segdet test --show-dir`` and ``show_result``."""
from __future__ import annotations

from .draw import (
    draw_instances,
    draw_label,
    draw_semantic,
    label_colour,
    seg_palette,
    upscale,
    write_image,
)

__all__ = [
    "draw_instances",
    "draw_label",
    "draw_semantic",
    "label_colour",
    "seg_palette",
    "upscale",
    "write_image",
]
