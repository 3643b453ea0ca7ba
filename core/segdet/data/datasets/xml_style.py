"""Detection data in PASCAL VOC XML files, as MMDetection 2.x's ``XMLDataset``."""
from __future__ import annotations

import csv
import os.path as osp
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from ...errors import DataFileNotFoundError
from ...evaluation.route import evaluate, uses_metric_route
from ...registry.slots import Slot
from ..file_client import check_file_client_args
from .base import DetDatasetBase

__all__ = ["XMLDataset", "read_image_ids"]

_Object = tuple[str, bool, list[int]]  # (name, difficult, [xmin, ymin, xmax, ymax] as in the file)


def read_image_ids(ann_file: str) -> list[tuple[str, str]]:
    """``(id, extension)`` of the images listed by an image-set file.

    A ``.csv`` with a ``filename`` column (one row per box, as the raccoon splits) gives its unique
    file names in order of first appearance, split into stem and extension; any other file is a
    VOC image set, one id per line (extension ``.jpg``).
    """
    if ann_file.lower().endswith(".csv"):
        with open(ann_file, newline="") as f:
            reader = csv.DictReader(f)
            if reader.fieldnames is None or "filename" not in reader.fieldnames:
                raise ValueError(f"{ann_file!r} (config key 'ann_file') has no 'filename' column; "
                                 f"its columns are {reader.fieldnames}")
            names = list(dict.fromkeys(row["filename"].strip() for row in reader if row["filename"].strip()))
        return [osp.splitext(n) for n in names]
    with open(ann_file) as f:
        return [(line.strip(), ".jpg") for line in f if line.strip()]


class XMLDataset(DetDatasetBase):
    """Images with one PASCAL VOC XML annotation each.

    Args:
        ann_file: image-set file: a ``.txt`` of ids, one a line, or a ``.csv`` with a ``filename``
            column (relative to ``data_root`` if given).
        pipeline: transform configs applied to each sample.
        classes: class names, or a txt file of names (required unless the class defines CLASSES).
        data_root: joined in front of relative ``ann_file``, ``img_prefix``, ``seg_prefix``.
        img_prefix: folder holding ``img_subdir`` and ``ann_subdir``.
        seg_prefix: folder of semantic maps (unused by VOC detection).
        test_mode: keep every image; samples come from the test pipeline.
        filter_empty_gt: in training, drop images without an object of ``classes``.
        img_subdir: image folder under ``img_prefix`` (default ``'JPEGImages'``); images are
            ``img_prefix/img_subdir/<id>.jpg``.
        ann_subdir: XML folder under ``img_prefix`` (default ``'Annotations'``).
        min_size: boxes narrower or lower than this go to ``bboxes_ignore`` (training only).
        file_client_args: MMCV's; only ``dict(backend='disk')`` (the default) is supported.

    Boxes follow MMDetection 2.x: the file's pixel-inclusive integer corners minus 1, so
    ``<xmin>81</xmin><ymin>88</ymin><xmax>522</xmax><ymax>408</ymax>`` becomes (80, 87, 521, 407).
    ``difficult`` objects go to ``bboxes_ignore`` / ``labels_ignore``.
    """

    slots: ClassVar[dict[str, Slot]] = {"pipeline": Slot("transforms")}

    CLASSES: tuple[str, ...] = ()

    def __init__(self, ann_file: str, pipeline: Sequence[Mapping[str, Any]],
                 classes: str | Sequence[str] | None = None, data_root: str | None = None,
                 img_prefix: str = "", seg_prefix: str | None = None, test_mode: bool = False,
                 filter_empty_gt: bool = True, img_subdir: str = "JPEGImages",
                 ann_subdir: str = "Annotations", min_size: float | None = None,
                 file_client_args: Mapping[str, Any] | None = None) -> None:
        check_file_client_args(file_client_args, type(self).__name__)
        self._init_common(ann_file, pipeline, classes, data_root, img_prefix, seg_prefix, test_mode, filter_empty_gt)
        self.img_subdir, self.ann_subdir, self.min_size = img_subdir, ann_subdir, min_size
        if not self.CLASSES:
            raise ValueError(f"{type(self).__name__} needs class names: set 'classes' in the data config, "
                             f"e.g. classes=('raccoon',)")
        self.cat2label = {name: i for i, name in enumerate(self.CLASSES)}
        self._check_paths()
        self._objects: dict[str, list[_Object]] = {}
        self.data_infos = self.load_annotations(self.ann_file)
        if not test_mode:
            keep = self._filter_imgs()
            self.data_infos = [self.data_infos[i] for i in keep]
        # aspect-ratio group flag (1: wider than tall), as MMDetection's GroupSampler expects
        self.flag = np.array([int(i["width"] / max(i["height"], 1) > 1) for i in self.data_infos], np.uint8)

    def _check_paths(self) -> None:
        if not osp.isfile(self.ann_file):
            raise DataFileNotFoundError(f"image-set file {self.ann_file!r} (config key 'ann_file') does not exist")
        for sub, key in ((self.img_subdir, "img_subdir"), (self.ann_subdir, "ann_subdir")):
            folder = osp.join(self.img_prefix, sub)
            if not osp.isdir(folder):
                raise DataFileNotFoundError(
                    f"folder {folder!r} (config keys 'img_prefix' + '{key}') does not exist")

    def _parse_xml(self, img_id: str) -> ET.Element:
        path = osp.join(self.img_prefix, self.ann_subdir, f"{img_id}.xml")
        if not osp.isfile(path):
            raise DataFileNotFoundError(f"annotation {path!r} of image id {img_id!r} listed in "
                                        f"{self.ann_file!r} (config key 'ann_file') does not exist")
        return ET.parse(path).getroot()

    def load_annotations(self, ann_file: str) -> list[dict[str, Any]]:
        """``dict(id, filename, width, height)`` per listed image; objects are parsed once and kept."""
        infos = []
        for img_id, ext in read_image_ids(ann_file):
            root = self._parse_xml(img_id)
            filename = osp.join(self.img_subdir, f"{img_id}{ext}")
            size = root.find("size")
            width = int(float(size.findtext("width", "0"))) if size is not None else 0
            height = int(float(size.findtext("height", "0"))) if size is not None else 0
            if width <= 0 or height <= 0:  # no usable <size>: read it from the image header
                from PIL import Image

                img_path = osp.join(self.img_prefix, filename)
                if not osp.isfile(img_path):
                    raise DataFileNotFoundError(f"image {img_path!r} (config key 'img_prefix') does not exist")
                with Image.open(img_path) as img:
                    width, height = img.size
            self._objects[img_id] = [self._parse_object(obj) for obj in root.findall("object")]
            infos.append(dict(id=img_id, filename=filename, width=width, height=height))
        return infos

    @staticmethod
    def _parse_object(obj: ET.Element) -> _Object:
        name = (obj.findtext("name") or "").strip()
        difficult = int(obj.findtext("difficult") or 0) != 0
        box = obj.find("bndbox")
        if box is None:
            raise ValueError(f"object {name!r} has no <bndbox>")
        # coordinates may be written as floats; MMDetection truncates them to int
        corners = [int(float(box.findtext(k) or 0)) for k in ("xmin", "ymin", "xmax", "ymax")]
        return name, difficult, corners

    def _filter_imgs(self, min_size: int = 32) -> list[int]:
        """Images at least ``min_size`` on each side and, with ``filter_empty_gt``, with an object."""
        keep = []
        for i, info in enumerate(self.data_infos):
            if min(info["width"], info["height"]) < min_size:
                continue
            if self.filter_empty_gt and not any(o[0] in self.cat2label for o in self._objects[info["id"]]):
                continue
            keep.append(i)
        return keep

    def get_ann_info(self, idx: int) -> dict[str, Any]:
        """``dict(bboxes float32 (K,4), labels int64 (K,), bboxes_ignore (I,4), labels_ignore (I,))``."""
        boxes, labels, ignore, ignore_labels = [], [], [], []
        for name, difficult, bbox in self._objects[self.data_infos[idx]["id"]]:
            if name not in self.cat2label:
                continue
            small = bool(self.min_size) and not self.test_mode and (
                bbox[2] - bbox[0] < self.min_size or bbox[3] - bbox[1] < self.min_size)  # type: ignore[operator]
            if difficult or small:
                ignore.append(bbox)
                ignore_labels.append(self.cat2label[name])
            else:
                boxes.append(bbox)
                labels.append(self.cat2label[name])
        return dict(
            bboxes=(np.array(boxes, np.float32).reshape(-1, 4) - 1) if boxes else np.zeros((0, 4), np.float32),
            labels=np.array(labels, np.int64),
            bboxes_ignore=(np.array(ignore, np.float32).reshape(-1, 4) - 1) if ignore
            else np.zeros((0, 4), np.float32),
            labels_ignore=np.array(ignore_labels, np.int64),
        )

    def get_cat_ids(self, idx: int) -> list[int]:
        """Labels of the objects of image ``idx`` (difficult ones included)."""
        return [self.cat2label[o[0]] for o in self._objects[self.data_infos[idx]["id"]] if o[0] in self.cat2label]

    def _voc_eval_options(self) -> tuple[str, bool]:
        """``(eval_mode, use_legacy_coordinate)``; MMDetection's custom XML data: area AP, plain areas."""
        return "area", False

    @property
    def evaluator(self) -> dict[str, Any]:
        """The metric that reads ``evaluation=dict(metric='mAP')``: ``VOCMetric`` with this data
        set's AP convention (it reads ``CLASSES`` and ``get_ann_info``)."""
        eval_mode, legacy = self._voc_eval_options()
        return {"type": "VOCMetric", "eval_mode": eval_mode, "use_legacy_coordinate": legacy}

    @uses_metric_route
    def evaluate(self, results: Sequence[Any], metric: Any = "mAP", logger: Any = None,
                 **options: Any) -> dict[str, Any]:
        """Compatibility wrapper over :func:`segdet.evaluation.route.evaluate` (``iou_thr``,
        ``scale_ranges``, ``proposal_nums`` go to ``VOCMetric``); returns ``{'mAP': ..., 'AP50': ...}``."""
        return evaluate(self, results, metric=metric, logger=logger, **options)
