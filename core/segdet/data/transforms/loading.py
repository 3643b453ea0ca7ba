"""Read images, boxes, instance masks and semantic maps into a results dict."""
from __future__ import annotations

import os.path as osp
from collections.abc import Mapping
from typing import Any

import cv2
import numpy as np

from ...errors import DataError, DataFileNotFoundError
from ..file_client import check_file_client_args
from ..label_io import read_label_map

__all__ = ["LoadImageFromFile", "LoadAnnotations"]

_FLAGS = {"color": cv2.IMREAD_COLOR, "grayscale": cv2.IMREAD_GRAYSCALE, "unchanged": cv2.IMREAD_UNCHANGED}


def _join(prefix: str | None, name: str) -> str:
    return osp.join(prefix, name) if prefix else name


def read_image(path: str, color_type: str = "color", channel_order: str = "bgr") -> np.ndarray:
    """HWC uint8 image; grayscale files become 3 channels with ``color_type='color'``."""
    if not osp.isfile(path):  # checked first: cv2.imread would also print a warning of its own
        raise DataFileNotFoundError(f"image file {path!r} does not exist "
                                    "(check img_prefix / img_dir in the data config)")
    img = cv2.imread(path, _FLAGS[color_type])
    if img is None:
        raise DataError(f"image file {path!r} exists but cannot be decoded as an image "
                        f"({osp.getsize(path)} bytes; the file is corrupt or not an image): replace or remove it")
    if color_type == "color" and channel_order == "rgb":
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    return img


class LoadImageFromFile:
    """Load ``img_prefix/img_info['filename']`` (BGR, HWC, uint8 unless ``to_float32``).

    Args:
        to_float32: convert to float32. Default False.
        color_type: 'color' (3 channels, also for grayscale files), 'grayscale' or 'unchanged'.
        channel_order: 'bgr' (default, as MMCV) or 'rgb'.
        file_client_args: MMCV's; only ``dict(backend='disk')`` (the default) is supported.
    """

    def __init__(self, to_float32: bool = False, color_type: str = "color", channel_order: str = "bgr",
                 file_client_args: Mapping[str, Any] | None = None) -> None:
        check_file_client_args(file_client_args, type(self).__name__)
        if color_type not in _FLAGS:
            raise ValueError(f"LoadImageFromFile: color_type must be one of {sorted(_FLAGS)}, got {color_type!r}")
        self.to_float32 = to_float32
        self.color_type = color_type
        self.channel_order = channel_order

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        info = results["img_info"]
        filename = _join(results.get("img_prefix"), info["filename"])
        img = read_image(filename, self.color_type, self.channel_order)
        if self.to_float32:
            img = img.astype(np.float32)
        results["filename"] = filename
        results["ori_filename"] = info["filename"]
        results["img"] = img
        results["img_shape"] = img.shape
        results["ori_shape"] = img.shape
        results["img_fields"] = ["img"]
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(to_float32={self.to_float32}, color_type={self.color_type!r})"


class LoadImageFromArray(LoadImageFromFile):
    """Take ``results['img']`` as already loaded (used by the inference APIs)."""

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        img = results["img"]
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=2)
        if self.to_float32:
            img = img.astype(np.float32)
        results.setdefault("filename", None)
        results.setdefault("ori_filename", None)
        results["img"] = img
        results["img_shape"] = img.shape
        results["ori_shape"] = img.shape
        results["img_fields"] = ["img"]
        return results


def _poly_to_mask(segm: Any, h: int, w: int) -> np.ndarray:
    """(h, w) uint8 bitmap of one COCO ``segmentation``: polygons, uncompressed or compressed RLE.

    Polygons with fewer than 3 points are dropped (as MMDetection's ``process_polygons``); an
    instance left with none gets an empty mask. An RLE must have the image's ``size``.
    """
    from pycocotools import mask as mask_utils

    if segm is None:
        raise ValueError("LoadAnnotations(with_mask=True): an instance has no 'segmentation'; every "
                         "instance needs polygons or an RLE, or set with_mask=False")
    if isinstance(segm, list):
        polys = [np.asarray(p, dtype=np.float64).ravel() for p in segm]
        polys = [p for p in polys if len(p) >= 6 and len(p) % 2 == 0]
        if not polys:
            return np.zeros((h, w), np.uint8)
        rle = mask_utils.merge(mask_utils.frPyObjects([p.tolist() for p in polys], h, w))
    elif isinstance(segm, dict) and "counts" in segm and "size" in segm:
        if [int(v) for v in segm["size"]] != [h, w]:
            raise ValueError(f"LoadAnnotations: an RLE of size {list(segm['size'])} on an image of "
                             f"height {h} and width {w}; the RLE 'size' must be [height, width] of its image")
        rle = mask_utils.frPyObjects(segm, h, w) if isinstance(segm["counts"], list) else segm
    else:
        raise ValueError(f"LoadAnnotations: a 'segmentation' must be a list of polygons or an RLE dict with "
                         f"'counts' and 'size', got {type(segm).__name__}")
    return mask_utils.decode(rle).astype(np.uint8)


class LoadAnnotations:
    """Load boxes, labels, instance masks and semantic maps from ``results['ann_info']``.

    Args:
        with_bbox: load ``gt_bboxes`` (and ``gt_bboxes_ignore``). Default True.
        with_label: load ``gt_labels``. Default True.
        with_mask: decode each instance's ``segmentation`` (polygons, uncompressed RLE with a
            ``counts`` list, or compressed RLE with a ``counts`` string) into ``gt_masks``, a
            (K, H, W) uint8 array of 0/1 at the image size, one per box. Default False.
        with_seg: read the semantic map ``seg_prefix/ann_info['seg_map']``. Default False.
        poly2mask: accepted for config compatibility. segdet always rasterises here, so
            ``poly2mask=False`` gives the same bitmaps as ``True``: MMDetection would keep
            ``PolygonMasks`` and move polygon vertices through the transforms, which differs
            from transforming the bitmap by at most the pixels along the outline.
        reduce_zero_label: MMSegmentation's: label 0 becomes 255 (ignored), others shift by -1.
        file_client_args: MMCV's; only ``dict(backend='disk')`` (the default) is supported.

    An ``ann_info`` with a ``seg_map`` but no ``bboxes`` (MMSegmentation's data sets) loads the
    semantic map only, as MMSegmentation's ``LoadAnnotations()`` does.
    """

    def __init__(self, with_bbox: bool = True, with_label: bool = True, with_mask: bool = False,
                 with_seg: bool = False, poly2mask: bool = True, reduce_zero_label: bool = False,
                 file_client_args: Mapping[str, Any] | None = None) -> None:
        check_file_client_args(file_client_args, type(self).__name__)
        self.with_bbox = with_bbox
        self.with_label = with_label
        self.with_mask = with_mask
        self.with_seg = with_seg
        self.poly2mask = poly2mask
        self.reduce_zero_label = reduce_zero_label

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        ann = results["ann_info"]
        seg_only = "bboxes" not in ann and "seg_map" in ann
        results.setdefault("bbox_fields", [])
        results.setdefault("mask_fields", [])
        results.setdefault("seg_fields", [])
        if self.with_bbox and not seg_only:
            results["gt_bboxes"] = np.asarray(ann["bboxes"], dtype=np.float32).reshape(-1, 4).copy()
            results["bbox_fields"].append("gt_bboxes")
            ignore = ann.get("bboxes_ignore")
            if ignore is not None:
                results["gt_bboxes_ignore"] = np.asarray(ignore, dtype=np.float32).reshape(-1, 4).copy()
                results["bbox_fields"].append("gt_bboxes_ignore")
        if self.with_label and not seg_only:
            results["gt_labels"] = np.asarray(ann["labels"], dtype=np.int64).copy()
        if self.with_mask and not seg_only:
            self._load_masks(results, ann)
        if self.with_seg or seg_only:
            self._load_seg(results, ann)
        return results

    def _load_masks(self, results: dict[str, Any], ann: dict[str, Any]) -> None:
        if "masks" not in ann:
            raise KeyError("LoadAnnotations(with_mask=True): the data set gives no instance masks "
                           "(ann_info has no 'masks'); use a data set with segmentations or with_mask=False")
        info = results.get("img_info", {})
        shape = results["img"].shape if "img" in results else None
        h = int(info.get("height", shape[0] if shape else 0))
        w = int(info.get("width", shape[1] if shape else 0))
        if shape is not None and (h, w) != tuple(shape[:2]):
            raise ValueError(f"LoadAnnotations: image {results.get('filename')!r} is {shape[1]}x{shape[0]} but "
                             f"its annotation says {w}x{h}; masks are decoded at the annotated size")
        masks = [_poly_to_mask(m, h, w) for m in ann["masks"]]
        if "gt_bboxes" in results and len(masks) != len(results["gt_bboxes"]):
            raise ValueError(f"LoadAnnotations: {len(masks)} masks for {len(results['gt_bboxes'])} boxes")
        results["gt_masks"] = np.stack(masks) if masks else np.zeros((0, h, w), np.uint8)
        results["mask_fields"].append("gt_masks")

    def _load_seg(self, results: dict[str, Any], ann: dict[str, Any]) -> None:
        path = _join(results.get("seg_prefix"), ann["seg_map"])
        seg = read_label_map(path)  # palette PNGs (VOC) as their indices, as MMSegmentation reads them
        if seg is None:
            raise DataFileNotFoundError(f"segmentation map {path!r} does not exist (check seg_prefix / ann_dir)")
        label_map = results.get("label_map")
        if label_map:
            mapped = seg.copy()
            for old, new in label_map.items():
                mapped[seg == old] = new
            seg = mapped
        if self.reduce_zero_label or results.get("reduce_zero_label", False):
            seg = seg.astype(np.uint8)  # MMSegmentation's rule: 0 -> 255 (ignored), k -> k - 1
            seg[seg == 0] = 255
            seg = seg - 1
            seg[seg == 254] = 255
        results["gt_semantic_seg"] = seg.astype(np.uint8)
        results["seg_fields"].append("gt_semantic_seg")

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(with_bbox={self.with_bbox}, with_label={self.with_label}, "
                f"with_mask={self.with_mask}, with_seg={self.with_seg})")
