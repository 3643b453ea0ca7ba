"""The embedded *shapes* data set: coloured circles, squares and triangles on textured backgrounds.

``make_shapes(out_dir)`` writes a deterministic COCO-format detection/instance
set plus a semantic map per image::

    out_dir/images/{train,val}/000000.png
    out_dir/annotations/instances_{train,val}.json   (bbox, polygon segmentation, area)
    out_dir/semantic/{train,val}/000000.png          (0 background, 1 circle, 2 square, 3 triangle)

Shapes are painted in order, so a later shape occludes an earlier one; the
boxes, polygons, areas and the semantic map all describe the *visible* parts.
The same seed gives byte-identical files on every machine (numpy's PCG64
stream, integer geometry, PNG output).

Example::

    from segdet.data.shapes import make_shapes
    make_shapes("data/shapes", seed=0, num_train=600, num_val=100)
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np

__all__ = ["SHAPE_CLASSES", "make_shapes", "render_image"]

SHAPE_CLASSES: tuple[str, ...] = ("circle", "square", "triangle")
_SPLITS = {"train": 0, "val": 1}
_MIN_VISIBLE = 0.5  # a shape must keep this fraction of its pixels visible
_MAX_OVERLAP = 0.25  # a new shape may cover at most this fraction of an earlier one


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    kind = int(rng.integers(3))
    c0 = rng.integers(0, 256, 3).astype(np.float32)
    c1 = rng.integers(0, 256, 3).astype(np.float32)
    if kind == 0:  # noise around a base colour
        img = c0 + rng.normal(0.0, 24.0, (size, size, 3))
    elif kind == 1:  # linear gradient along a random direction
        angle = rng.uniform(0, 2 * np.pi)
        yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / max(size - 1, 1)
        t = (np.cos(angle) * xx + np.sin(angle) * yy)
        t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
        img = c0 * (1 - t[..., None]) + c1 * t[..., None]
    else:  # stripes of random period and orientation
        period = int(rng.integers(6, 20))
        yy, xx = np.mgrid[0:size, 0:size]
        coord = xx if rng.integers(2) else yy
        if rng.integers(2):
            coord = xx + yy
        on = ((coord // period) % 2).astype(np.float32)[..., None]
        img = c0 * (1 - on) + c1 * on + rng.normal(0.0, 8.0, (size, size, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def _shape_mask(rng: np.random.Generator, kind: int, size: int) -> np.ndarray:
    """A filled mask (H, W) uint8 of one shape of class ``kind`` (0 circle, 1 square, 2 triangle)."""
    extent = int(rng.integers(12, 51))
    half = extent / 2.0
    cx = float(rng.uniform(half, size - half))
    cy = float(rng.uniform(half, size - half))
    mask = np.zeros((size, size), np.uint8)
    if kind == 0:
        cv2.circle(mask, (round(cx), round(cy)), max(int(half), 3), 1, thickness=-1)
    elif kind == 1:
        x0, y0 = round(cx - half), round(cy - half)
        cv2.rectangle(mask, (x0, y0), (x0 + extent - 1, y0 + extent - 1), 1, thickness=-1)
    else:
        angle = rng.uniform(0, 2 * np.pi)
        angles = angle + np.array([0.0, 2 * np.pi / 3, 4 * np.pi / 3])
        pts = np.stack([cx + half * np.cos(angles), cy + half * np.sin(angles)], axis=1)
        cv2.fillPoly(mask, [np.round(pts).astype(np.int32)], 1)
    return mask


def _distinct_colour(rng: np.random.Generator, img: np.ndarray, mask: np.ndarray) -> np.ndarray:
    under = img[mask.astype(bool)].astype(np.float32).mean(axis=0)
    colour = rng.integers(0, 256, 3)
    for _ in range(20):
        if np.abs(colour - under).sum() > 150:
            break
        colour = rng.integers(0, 256, 3)
    return colour.astype(np.uint8)


def render_image(rng: np.random.Generator, size: int = 128) -> tuple[np.ndarray, np.ndarray, list[dict[str, Any]]]:
    """Draw one image.

    Returns:
        ``(img, semantic, instances)``: BGR uint8 (size, size, 3), uint8 (size, size)
        class map, and per visible shape ``dict(label, mask)`` with label in 0..2
        and mask (size, size) uint8 of its visible pixels.
    """
    img = _background(rng, size)
    semantic = np.zeros((size, size), np.uint8)
    owner = np.full((size, size), -1, np.int32)
    full_masks: list[np.ndarray] = []
    labels: list[int] = []
    for _ in range(int(rng.integers(1, 5))):
        for _attempt in range(10):
            kind = int(rng.integers(3))
            mask = _shape_mask(rng, kind, size)
            area = int(mask.sum())
            if area < 30:
                continue
            covered = [int((m & mask).sum()) / max(int(m.sum()), 1) for m in full_masks]
            if all(c <= _MAX_OVERLAP for c in covered):
                break
        else:
            continue
        img[mask.astype(bool)] = _distinct_colour(rng, img, mask)
        semantic[mask.astype(bool)] = kind + 1
        owner[mask.astype(bool)] = len(full_masks)
        full_masks.append(mask)
        labels.append(kind)
    instances = []
    for i, (mask, label) in enumerate(zip(full_masks, labels)):
        visible = (owner == i).astype(np.uint8)
        if visible.sum() >= _MIN_VISIBLE * mask.sum():
            instances.append({"label": label, "mask": visible})
    return img, semantic, instances


def _polygons(mask: np.ndarray) -> list[list[float]]:
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    polys = []
    for c in contours:
        if len(c) < 3:  # a degenerate sliver: make a tiny box polygon around it
            x, y, w, h = cv2.boundingRect(c)
            c = np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]])
        polys.append([float(v) for v in c.reshape(-1)])
    return polys


def _annotation(inst: dict[str, Any], ann_id: int, img_id: int) -> dict[str, Any]:
    mask = inst["mask"]
    ys, xs = np.nonzero(mask)
    x0, y0, x1, y1 = int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1
    return {
        "id": ann_id,
        "image_id": img_id,
        "category_id": inst["label"] + 1,
        "bbox": [x0, y0, x1 - x0, y1 - y0],
        "area": int(mask.sum()),
        "segmentation": _polygons(mask),
        "iscrowd": 0,
    }


def _write_split(out: Path, split: str, seed: int, num: int, img_size: int) -> Path:
    img_dir, sem_dir = out / "images" / split, out / "semantic" / split
    img_dir.mkdir(parents=True, exist_ok=True)
    sem_dir.mkdir(parents=True, exist_ok=True)
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for i in range(num):
        rng = np.random.default_rng([seed, _SPLITS[split], i])
        img, semantic, instances = render_image(rng, img_size)
        name = f"{i:06d}.png"
        cv2.imwrite(str(img_dir / name), img)
        cv2.imwrite(str(sem_dir / name), semantic)
        images.append({"id": i + 1, "file_name": name, "width": img_size, "height": img_size})
        for inst in instances:
            annotations.append(_annotation(inst, len(annotations) + 1, i + 1))
    categories = [{"id": k + 1, "name": n, "supercategory": "shape"} for k, n in enumerate(SHAPE_CLASSES)]
    coco = {
        "info": {"description": f"segdet shapes, seed {seed}", "version": "1.0"},
        "images": images,
        "annotations": annotations,
        "categories": categories,
    }
    ann_path = out / "annotations" / f"instances_{split}.json"
    ann_path.parent.mkdir(parents=True, exist_ok=True)
    ann_path.write_text(json.dumps(coco))
    return ann_path


def make_shapes(
    out_dir: str | Path,
    seed: int = 0,
    num_train: int = 600,
    num_val: int = 100,
    img_size: int = 128,
) -> dict[str, Path]:
    """Write the shapes set under ``out_dir``; return the annotation file of each split.

    Args:
        out_dir: target folder (created if missing; existing files are overwritten).
        seed: the whole set is a function of the seed.
        num_train: number of training images. Default 600.
        num_val: number of validation images. Default 100.
        img_size: side of the square images in pixels. Default 128.
    """
    if img_size < 64:
        raise ValueError(f"img_size must be at least 64 to fit shapes up to 50 px, got {img_size}")
    out = Path(out_dir)
    return {
        split: _write_split(out, split, seed, num, img_size)
        for split, num in (("train", num_train), ("val", num_val))
    }
