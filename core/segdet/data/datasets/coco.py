"""COCO-format detection data (pycocotools), as MMDetection 2.x's ``CocoDataset``."""
from __future__ import annotations

import json
import os.path as osp
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from ...errors import DataFileNotFoundError
from ...evaluation.route import evaluate, uses_metric_route
from ...registry.slots import Slot
from ..file_client import check_file_client_args
from .base import DetDatasetBase, resolve_classes

__all__ = ["CocoDataset", "resolve_classes"]

COCO_CLASSES = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
    "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
    "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
    "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard",
    "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard",
    "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase",
    "scissors", "teddy bear", "hair drier", "toothbrush",
)


class CocoDataset(DetDatasetBase):
    """Images and instances from a COCO json file.

    Args:
        ann_file: the COCO json (relative to ``data_root`` if given).
        pipeline: transform configs applied to each sample.
        classes: class names to use (a subset, or a txt file of names); default the 80 COCO names.
            Categories are picked by name, in the order given; a list of new names of the same
            length as the file's categories, none of which matches, renames them in id order.
        data_root: joined in front of relative ``ann_file``, ``img_prefix``, ``seg_prefix``.
        img_prefix: folder of the images.
        seg_prefix: folder of semantic maps (for ``LoadAnnotations(with_seg=True)``).
        proposal_file: not supported by the one-stage models; must be None.
        test_mode: no annotations needed; samples come from the test pipeline.
        filter_empty_gt: in training, drop images without an instance of the chosen classes.
        file_client_args: MMCV's; only ``dict(backend='disk')`` (the default) is supported.
    """

    slots: ClassVar[dict[str, Slot]] = {"pipeline": Slot("transforms")}

    CLASSES: tuple[str, ...] = COCO_CLASSES
    #: the metric (``segdet.metrics`` group) that reads ``evaluation=dict(metric='bbox')``; it
    #: reads ``coco`` (the ground truth), ``img_ids``, ``cat_ids`` and ``CLASSES`` of this data set
    evaluator: ClassVar[Mapping[str, Any]] = {"type": "CocoMetric"}

    def __init__(self, ann_file: str, pipeline: Sequence[Mapping[str, Any]], classes: str | Sequence[str] | None = None,
                 data_root: str | None = None, img_prefix: str = "", seg_prefix: str | None = None,
                 proposal_file: str | None = None, test_mode: bool = False, filter_empty_gt: bool = True,
                 file_client_args: Mapping[str, Any] | None = None) -> None:
        from pycocotools.coco import COCO

        if proposal_file is not None:
            raise ValueError("CocoDataset: proposal_file is for two-stage models, which segdet does not have yet")
        check_file_client_args(file_client_args, type(self).__name__)
        self._init_common(ann_file, pipeline, classes, data_root, img_prefix, seg_prefix, test_mode, filter_empty_gt)
        if not osp.isfile(self.ann_file):
            raise DataFileNotFoundError(
                f"annotation file {self.ann_file!r} (config key 'ann_file') does not exist"
                + (" — make the shapes data with: segdet data shapes --out data/shapes" if "shapes" in self.ann_file else "")
            )
        if self.img_prefix and not osp.isdir(self.img_prefix):
            raise DataFileNotFoundError(f"image folder {self.img_prefix!r} (config key 'img_prefix') does not exist")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import contextlib
            import io

            with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints timing lines
                self.coco = COCO(self.ann_file)
        self.cat_ids = self._select_categories()
        self.cat2label = {cat_id: i for i, cat_id in enumerate(self.cat_ids)}
        self.img_ids = sorted(self.coco.getImgIds())
        self.data_infos = []
        for img_id in self.img_ids:
            info = dict(self.coco.loadImgs([img_id])[0])
            info["filename"] = info["file_name"]
            self.data_infos.append(info)
        if not test_mode:
            keep = self._filter_imgs()
            self.img_ids = [self.img_ids[i] for i in keep]
            self.data_infos = [self.data_infos[i] for i in keep]

    def _select_categories(self) -> list[int]:
        cats = sorted(self.coco.loadCats(self.coco.getCatIds()), key=lambda c: c["id"])
        by_name = {c["name"]: c["id"] for c in cats}
        hits = [n for n in self.CLASSES if n in by_name]
        if not hits and len(self.CLASSES) == len(cats):
            return [c["id"] for c in cats]  # renamed classes, matched in id order
        missing = [n for n in self.CLASSES if n not in by_name]
        if missing:
            raise ValueError(
                f"classes {missing} are not categories of {self.ann_file!r} (config key 'classes'); "
                f"its categories are {list(by_name)}"
            )
        return [by_name[n] for n in self.CLASSES]

    def _filter_imgs(self, min_size: int = 32) -> list[int]:
        with_ann = {a["image_id"] for a in self.coco.dataset.get("annotations", []) if a["category_id"] in self.cat2label}
        keep = []
        for i, info in enumerate(self.data_infos):
            if self.filter_empty_gt and info["id"] not in with_ann:
                continue
            if min(info["width"], info["height"]) >= min_size:
                keep.append(i)
        return keep

    def get_ann_info(self, idx: int) -> dict[str, Any]:
        """Boxes (x1, y1, x2, y2), labels, ignored (crowd) boxes, masks and seg map name of one image."""
        info = self.data_infos[idx]
        anns = self.coco.loadAnns(self.coco.getAnnIds(imgIds=[info["id"]]))
        boxes, labels, ignore, masks = [], [], [], []
        for ann in anns:
            if ann.get("ignore", False) or ann["category_id"] not in self.cat2label:
                continue
            x, y, w, h = ann["bbox"]
            if max(0, min(x + w, info["width"]) - max(x, 0)) * max(0, min(y + h, info["height"]) - max(y, 0)) == 0:
                continue
            if ann.get("area", w * h) <= 0 or w < 1 or h < 1:
                continue
            box = [x, y, x + w, y + h]
            if ann.get("iscrowd", False):
                ignore.append(box)
            else:
                boxes.append(box)
                labels.append(self.cat2label[ann["category_id"]])
                masks.append(ann.get("segmentation"))
        return dict(
            bboxes=np.array(boxes, dtype=np.float32).reshape(-1, 4),
            labels=np.array(labels, dtype=np.int64),
            bboxes_ignore=np.array(ignore, dtype=np.float32).reshape(-1, 4),
            masks=masks,
            seg_map=osp.splitext(info["filename"])[0] + ".png",
        )

    def format_results(self, results: Sequence[Any], outfile: str | None = None,
                       jsonfile_prefix: str | None = None) -> str | dict[str, str]:
        """Write detections as COCO result json (``segdet test --format-only``).

        ``jsonfile_prefix`` (MMDetection's form) writes ``<prefix>.bbox.json`` and, when the results
        hold masks, ``<prefix>.segm.json``, returning ``{'bbox': path, 'segm': path}``;
        ``outfile`` writes the boxes to that one file and returns its path.
        """
        from ...evaluation.coco_metric import CocoMetric
        from ...evaluation.coco_results import results_to_coco_json

        if len(results) != len(self):
            raise ValueError(f"{len(results)} results for {len(self)} images")
        if jsonfile_prefix is not None:
            return CocoMetric().format_results(results, self, jsonfile_prefix)
        if outfile is None:
            raise ValueError("CocoDataset.format_results: give jsonfile_prefix (or outfile)")
        with open(outfile, "w") as f:
            json.dump(results_to_coco_json(results, self.img_ids, self.cat_ids, "bbox"), f)
        return outfile

    @uses_metric_route
    def evaluate(self, results: Sequence[Any], metric: Any = "bbox", logger: Any = None,
                 **options: Any) -> dict[str, Any]:
        """Compatibility wrapper over :func:`segdet.evaluation.route.evaluate`.

        ``metric`` names ``bbox``/``segm``/``proposal`` (read by :attr:`evaluator`, ``CocoMetric``)
        or metric classes of the ``segdet.metrics`` group; ``options`` (``classwise``,
        ``jsonfile_prefix``, ``iou_thrs``, ``proposal_nums``, ``metric_items`` ...) go to the
        metrics that take them.
        """
        if len(results) != len(self):
            raise ValueError(f"CocoDataset.evaluate: {len(results)} results for {len(self)} images")
        return evaluate(self, results, metric=metric, logger=logger, **options)
