"""Boxes with class names, translucent instance masks and semantic maps with a legend, on BGR
``uint8`` images (OpenCV's order), as NumPy arrays.

Every function returns a new array and leaves its input alone. Colours of instance classes come
from :func:`label_colour` (stable per label); semantic maps use the data set's ``PALETTE`` (RGB, as
MMSegmentation stores it) or :func:`seg_palette`.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["draw_instances", "draw_label", "draw_semantic", "label_colour", "seg_palette", "upscale",
           "write_image"]

_FONT = 0  # cv2.FONT_HERSHEY_SIMPLEX


def _numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def label_colour(label: int) -> tuple[int, int, int]:
    """A BGR colour for class ``label``: the same in every image and every run."""
    rng = np.random.default_rng(label + 7)
    return tuple(int(c) for c in rng.integers(40, 220, 3))  # type: ignore[return-value]


def seg_palette(num_classes: int, palette: Sequence[Sequence[int]] | None = None) -> np.ndarray:
    """``(num_classes, 3)`` uint8 **BGR** colours: ``palette`` (RGB rows, a data set's ``PALETTE``)
    where given, seeded random colours for the classes it does not cover."""
    colours = np.random.RandomState(42).randint(0, 255, size=(max(num_classes, 1), 3)).astype(np.uint8)
    if palette is not None:
        given = np.asarray(palette, dtype=np.uint8).reshape(-1, 3)[:, ::-1]
        n = min(len(given), len(colours))
        colours[:n] = given[:n]
    return colours


def draw_label(canvas: np.ndarray, text: str, x: int, y: int, colour: Sequence[int],
               font_scale: float = 0.4) -> None:
    """Write ``text`` on a filled box of ``colour`` whose bottom-left corner is at ``(x, y)`` (in
    place), moved inside the image where it would cross the border, so it is not clipped when it
    fits the image's width (a label at the top edge sits just below it)."""
    import cv2

    h, w = canvas.shape[:2]
    (tw, th), base = cv2.getTextSize(text, _FONT, font_scale, 1)
    if tw < w:  # a label wider than the image stays at its box; browse-dataset enlarges small images
        x = min(max(x, 0), w - tw - 1)
    x = int(max(x, 0))
    y = int(min(max(y, th + base), h - 1))
    cv2.rectangle(canvas, (x, y - th - base), (x + tw, y), tuple(int(c) for c in colour), -1)
    bright = sum(int(c) for c in colour) > 3 * 160
    cv2.putText(canvas, text, (x, y - base), _FONT, font_scale, (0, 0, 0) if bright else (255, 255, 255), 1,
                cv2.LINE_AA)


def _mask_planes(masks: Any, index: np.ndarray, shape: tuple[int, int]) -> list[np.ndarray]:
    if isinstance(masks, (list, tuple)) or (isinstance(masks, dict) and "counts" in masks):
        from pycocotools import mask as mask_utils

        rles = [masks] if isinstance(masks, dict) else masks
        planes = [mask_utils.decode(dict(rles[i])).astype(bool) for i in index]
    else:
        arr = _numpy(masks).astype(bool)
        planes = list(arr[index])
    for plane in planes:
        if plane.shape[:2] != shape:
            raise ValueError(f"a mask is {plane.shape[1]}x{plane.shape[0]} but the image is {shape[1]}x{shape[0]}; "
                             "masks must be at the image's size")
    return [p.reshape(shape) for p in planes]


def draw_instances(img: np.ndarray, bboxes: Any, labels: Any, scores: Any = None, masks: Any = None,
                   class_names: Sequence[str] | None = None, score_thr: float = 0.0, thickness: int = 1,
                   font_scale: float = 0.4, mask_alpha: float = 0.5) -> np.ndarray:
    """Boxes, class names (and scores) and translucent instance masks drawn on a copy of ``img``.

    Args:
        img: ``(H, W, 3)`` BGR uint8 image.
        bboxes: ``(N, 4)`` x1, y1, x2, y2 in ``img`` pixels (Tensor or array).
        labels: ``(N,)`` class indices.
        scores: ``(N,)`` or None (ground truth: no score is written, nothing is filtered).
        masks: ``(N, H, W)`` bool/0-1 masks, or a list of N COCO RLE dicts; None for none.
        class_names: names by label; the label number is written without them.
        score_thr: instances scoring below it are not drawn. Default 0.
        mask_alpha: opacity of a mask's colour (0 invisible, 1 opaque). Default 0.5.

    Returns:
        The drawn ``(H, W, 3)`` BGR uint8 image.
    """
    import cv2

    canvas = np.ascontiguousarray(img, dtype=np.uint8).copy()
    boxes = _numpy(bboxes).reshape(-1, 4).astype(np.float64)
    labels_np = _numpy(labels).reshape(-1).astype(np.int64)
    scores_np = None if scores is None else _numpy(scores).reshape(-1).astype(np.float64)
    keep = np.ones(len(boxes), bool) if scores_np is None else scores_np >= score_thr
    if masks is not None and len(boxes):
        index = np.flatnonzero(keep)
        for i, plane in zip(index, _mask_planes(masks, index, canvas.shape[:2])):
            tint = np.asarray(label_colour(int(labels_np[i])), np.float32)
            mixed = canvas[plane].astype(np.float32) * (1 - mask_alpha) + tint * mask_alpha
            canvas[plane] = mixed.round().astype(np.uint8)
    for i in np.flatnonzero(keep):
        label = int(labels_np[i])
        colour = label_colour(label)
        x1, y1, x2, y2 = (int(round(float(v))) for v in boxes[i])
        cv2.rectangle(canvas, (x1, y1), (x2, y2), colour, thickness)
        name = class_names[label] if class_names is not None and 0 <= label < len(class_names) else str(label)
        text = name if scores_np is None else f"{name} {scores_np[i]:.2f}"
        draw_label(canvas, text, x1, y1, colour, font_scale)
    return canvas


def draw_semantic(img: np.ndarray, seg: Any, class_names: Sequence[str] | None = None,
                  palette: Sequence[Sequence[int]] | None = None, alpha: float = 0.5, legend: bool = True,
                  ignore_index: int = 255, font_scale: float = 0.4) -> np.ndarray:
    """A semantic map laid over ``img`` in palette colours, with a legend of the classes present.

    Args:
        img: ``(H, W, 3)`` BGR uint8 image.
        seg: ``(H, W)`` (or ``(1, H, W)``) class indices; ``ignore_index`` pixels keep the image.
        class_names: names by class index (the legend writes the index without them).
        palette: RGB colour per class (a data set's ``PALETTE``); missing ones are made up.
        alpha: opacity of the map (0 invisible, 1 opaque). Default 0.5.
        legend: add a panel at the right listing each class present with its colour.

    Returns:
        BGR uint8 ``(H', W', 3)``: ``(H, W)`` without the legend; with it the panel widens the
        image (and lengthens it when more classes are present than fit its height).
    """
    import cv2

    canvas = np.ascontiguousarray(img, dtype=np.uint8).copy()
    seg_np = _numpy(seg).astype(np.int64)
    if seg_np.ndim == 3 and seg_np.shape[0] == 1:
        seg_np = seg_np[0]
    if seg_np.shape != canvas.shape[:2]:
        raise ValueError(f"the semantic map is {seg_np.shape[1]}x{seg_np.shape[0]} but the image is "
                         f"{canvas.shape[1]}x{canvas.shape[0]}")
    valid = (seg_np != ignore_index) & (seg_np >= 0)
    present = sorted(int(c) for c in np.unique(seg_np[valid]))
    num = max([len(class_names or ()), len(palette or ()), *(c + 1 for c in present)])
    colours = seg_palette(num, palette)
    mixed = canvas[valid].astype(np.float32) * (1 - alpha) + colours[seg_np[valid]].astype(np.float32) * alpha
    canvas[valid] = mixed.round().astype(np.uint8)
    if not legend or not present:
        return canvas
    names = [class_names[c] if class_names is not None and c < len(class_names) else str(c) for c in present]
    (_, th), base = cv2.getTextSize("Ag", _FONT, font_scale, 1)
    row = th + base + 4
    swatch = th + base
    text_w = max(cv2.getTextSize(n, _FONT, font_scale, 1)[0][0] for n in names)
    panel_w = 4 + swatch + 4 + text_w + 4
    h, w = canvas.shape[:2]
    out_h = max(h, 4 + row * len(present))
    out = np.full((out_h, w + panel_w, 3), 255, np.uint8)
    out[:h, :w] = canvas
    for k, (c, name) in enumerate(zip(present, names)):
        top = 4 + k * row
        colour = tuple(int(v) for v in colours[c])
        cv2.rectangle(out, (w + 4, top), (w + 4 + swatch, top + swatch), colour, -1)
        cv2.rectangle(out, (w + 4, top), (w + 4 + swatch, top + swatch), (0, 0, 0), 1)
        cv2.putText(out, name, (w + 8 + swatch, top + th), _FONT, font_scale, (0, 0, 0), 1, cv2.LINE_AA)
    return out


def upscale(img: np.ndarray, min_size: int) -> tuple[np.ndarray, int]:
    """``img`` enlarged by the smallest whole factor that brings its shorter side to ``min_size``
    (nearest neighbour, so pixels stay sharp), and that factor (1: unchanged)."""
    import cv2

    h, w = img.shape[:2]
    factor = max(1, -(-int(min_size) // max(min(h, w), 1)))
    if factor == 1:
        return img, 1
    return cv2.resize(img, (w * factor, h * factor), interpolation=cv2.INTER_NEAREST), factor


def write_image(img: np.ndarray, out_file: str | os.PathLike) -> None:
    """Write ``img`` (BGR) to ``out_file``, creating its folder; an error names the file."""
    import cv2

    Path(out_file).parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(out_file), img):
        raise OSError(f"cannot write image {str(out_file)!r} (is the extension one OpenCV knows, e.g. .png?)")
