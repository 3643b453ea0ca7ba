"""Read a segmentation label map as class indices, palette PNGs included.

PASCAL VOC's ``SegmentationClass/*.png`` are palette ("P" mode) images whose pixel values are
the class indices; OpenCV expands such files to their colours. MMSegmentation reads label maps
with Pillow in "unchanged" mode, which keeps the indices: so does :func:`read_label_map`.
"""
from __future__ import annotations

import cv2
import numpy as np

__all__ = ["read_label_map"]


def _palette_indices(path: str) -> np.ndarray | None:
    """The index array of a palette image, or None for any other image (or no Pillow)."""
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow ships with torchvision
        return None
    try:
        with Image.open(path) as img:  # reads the header only until asked for pixels
            if img.mode != "P":
                return None
            return np.array(img)
    except OSError:
        return None


def read_label_map(path: str) -> np.ndarray | None:
    """(H, W) label map of ``path`` (None when it cannot be read): palette images give their
    indices, images with channels their first channel, others their values unchanged."""
    if path.lower().endswith(".png"):
        indices = _palette_indices(path)
        if indices is not None:
            return indices
    label = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if label is not None and label.ndim == 3:  # a colour PNG holding labels in every channel
        label = label[..., 0]
    return label
