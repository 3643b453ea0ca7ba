"""Semantic-segmentation data set of an image folder and a label-map folder (MMSegmentation's form).

Layout::

    data_root/img_dir/xxx{img_suffix}       data_root/ann_dir/xxx{seg_map_suffix}
    data_root/img_dir/sub/yyy{img_suffix}   data_root/ann_dir/sub/yyy{seg_map_suffix}

``split`` (a text file of names without suffix, one a line) restricts and orders the images;
otherwise every file under ``img_dir`` ending in ``img_suffix`` is taken, sorted.
"""
from __future__ import annotations

import os
import os.path as osp
from collections.abc import Mapping, Sequence
from typing import Any, Callable, ClassVar

import numpy as np

from ...errors import ConfigError, DataFileNotFoundError
from ...evaluation.route import evaluate, uses_metric_route
from ...registry.slots import Slot
from ..file_client import check_file_client_args
from ..label_io import read_label_map
from ..transforms.compose import Compose

__all__ = ["CustomDataset"]


def _join(root: str | None, path: str | None) -> str | None:
    if path is None or root is None or osp.isabs(path):
        return path
    return osp.join(root, path)


def _read_label_map(path: str) -> np.ndarray:
    label = read_label_map(path)  # palette PNGs (VOC) as their indices
    if label is None:
        raise DataFileNotFoundError(f"cannot read segmentation map {path!r}")
    return label


class CustomDataset:
    """Images and per-pixel label maps, evaluated by mIoU.

    Args:
        pipeline: list of transform configs (group ``transforms``) or callables applied to each sample.
        img_dir: image folder (relative to ``data_root`` unless absolute).
        img_suffix: image file ending (default ``'.jpg'``).
        ann_dir: label-map folder, or None (test without labels).
        seg_map_suffix: label-map file ending (default ``'.png'``).
        split: optional text file of image names without suffix.
        data_root: prefix of ``img_dir``, ``ann_dir`` and ``split``.
        test_mode: build test samples (no annotations in the sample).
        ignore_index: label ignored by metrics (default 255).
        reduce_zero_label: label 0 is ignored and others shift down by one (ADE20K), in the metric.
        classes: names (tuple, list, or a text file with one name a line); a subset of the data set's
            ``CLASSES`` remaps labels (``label_map``), other labels are ignored.
        palette: one RGB triple per class, for visualisation.
        file_client_args: MMCV's; only ``dict(backend='disk')`` (the default) is supported.

    Each raw sample is ``dict(img_info=dict(filename, ann=dict(seg_map)), ann_info=dict(seg_map),
    seg_fields=[], img_prefix, seg_prefix)`` (+ ``label_map``) before the pipeline.
    """

    slots: ClassVar[dict[str, Slot]] = {"pipeline": Slot("transforms")}

    CLASSES: tuple[str, ...] | None = None
    PALETTE: Sequence[Sequence[int]] | None = None

    def __init__(
        self,
        pipeline: Sequence[Mapping[str, Any] | Callable[[dict[str, Any]], Any]],
        img_dir: str,
        img_suffix: str = ".jpg",
        ann_dir: str | None = None,
        seg_map_suffix: str = ".png",
        split: str | None = None,
        data_root: str | None = None,
        test_mode: bool = False,
        ignore_index: int = 255,
        reduce_zero_label: bool = False,
        classes: str | Sequence[str] | None = None,
        palette: Sequence[Sequence[int]] | None = None,
        file_client_args: Mapping[str, Any] | None = None,
    ) -> None:
        check_file_client_args(file_client_args, type(self).__name__)
        self.pipeline = Compose(pipeline)
        self.data_root = data_root
        self.img_dir = _join(data_root, img_dir)
        self.ann_dir = _join(data_root, ann_dir)
        self.split = _join(data_root, split)
        self.img_suffix = img_suffix
        self.seg_map_suffix = seg_map_suffix
        self.test_mode = test_mode
        self.ignore_index = ignore_index
        self.reduce_zero_label = reduce_zero_label
        self.label_map: dict[int, int] | None = None
        self.CLASSES, self.PALETTE = self._classes_and_palette(classes, palette)
        if self.img_dir is None or not osp.isdir(self.img_dir):
            raise DataFileNotFoundError(
                f"CustomDataset img_dir {self.img_dir!r} is not a folder (data_root={data_root!r}, "
                f"img_dir={img_dir!r}); make the data (e.g. `segdet data shapes`) or fix data_root"
            )
        self.img_infos = self.load_annotations()
        if not self.img_infos:
            raise DataFileNotFoundError(
                f"CustomDataset found no '*{img_suffix}' image under {self.img_dir!r}"
                + (f" listed in {self.split!r}" if self.split else "")
            )

    # ---------------------------------------------------------------- index
    def load_annotations(self) -> list[dict[str, Any]]:
        """``[dict(filename=rel_path, ann=dict(seg_map=rel_path)), ...]`` in a stable order."""
        assert self.img_dir is not None
        if self.split is not None:
            if not osp.isfile(self.split):
                raise DataFileNotFoundError(f"CustomDataset split file {self.split!r} does not exist")
            with open(self.split) as f:
                names = [line.strip() for line in f if line.strip()]
        else:
            names = []
            for root, _, files in os.walk(self.img_dir):
                for file in files:
                    if file.endswith(self.img_suffix):
                        rel = osp.relpath(osp.join(root, file), self.img_dir)
                        names.append(rel[: len(rel) - len(self.img_suffix)])
            names.sort()
        infos = []
        for name in names:
            info: dict[str, Any] = {"filename": name + self.img_suffix}
            if self.ann_dir is not None:
                info["ann"] = {"seg_map": name + self.seg_map_suffix}
            infos.append(info)
        return infos

    def _classes_and_palette(self, classes: str | Sequence[str] | None,
                             palette: Sequence[Sequence[int]] | None
                             ) -> tuple[tuple[str, ...] | None, Sequence[Sequence[int]] | None]:
        base = type(self).CLASSES
        if classes is None:
            return base, palette if palette is not None else type(self).PALETTE
        if isinstance(classes, str):
            with open(classes) as f:
                names = tuple(line.strip() for line in f if line.strip())
        else:
            names = tuple(classes)
        if base is not None and names != tuple(base):
            missing = [c for c in names if c not in base]
            if missing:
                raise ConfigError(f"classes {missing} are not classes of {type(self).__name__}: {list(base)}")
            # keep the chosen classes, renumbered in the given order; drop the others to ignore
            self.label_map = {i: (names.index(c) if c in names else -1) for i, c in enumerate(base)}
        if palette is None:
            rng = np.random.RandomState(42)  # a fixed palette, as MMSegmentation does for new classes
            palette = [tuple(int(v) for v in rng.randint(0, 255, 3)) for _ in names]
        return names, palette

    def __len__(self) -> int:
        return len(self.img_infos)

    def get_ann_info(self, idx: int) -> dict[str, Any]:
        return dict(self.img_infos[idx].get("ann", {}))

    def pre_pipeline(self, results: dict[str, Any]) -> None:
        results["seg_fields"] = []
        results["img_prefix"] = self.img_dir
        results["seg_prefix"] = self.ann_dir
        if self.label_map:
            results["label_map"] = self.label_map

    def prepare_train_img(self, idx: int) -> Any:
        results = {"img_info": self.img_infos[idx], "ann_info": self.get_ann_info(idx)}
        self.pre_pipeline(results)
        return self.pipeline(results)

    def prepare_test_img(self, idx: int) -> Any:
        results = {"img_info": self.img_infos[idx]}
        self.pre_pipeline(results)
        return self.pipeline(results)

    def __getitem__(self, idx: int) -> Any:
        return self.prepare_test_img(idx) if self.test_mode else self.prepare_train_img(idx)

    # ---------------------------------------------------------------- evaluation
    def get_gt_seg_map_by_idx(self, idx: int) -> np.ndarray:
        """The raw label map of image ``idx`` as stored (``label_map`` / ``reduce_zero_label`` are
        applied by the metric)."""
        if self.ann_dir is None:
            raise ConfigError(f"{type(self).__name__} has no ann_dir: it holds no labels to evaluate against")
        return _read_label_map(osp.join(self.ann_dir, self.img_infos[idx]["ann"]["seg_map"]))

    def get_gt_seg_maps(self) -> list[np.ndarray]:
        return [self.get_gt_seg_map_by_idx(i) for i in range(len(self))]

    #: the metric (``segdet.metrics`` group) that reads ``evaluation=dict(metric='mIoU')``; it reads
    #: ``CLASSES``, ``get_gt_seg_map_by_idx``, ``ignore_index``, ``reduce_zero_label`` and ``label_map``
    evaluator: ClassVar[Mapping[str, Any]] = {"type": "IoUMetric"}

    @uses_metric_route
    def evaluate(self, results: Sequence[Any], metric: Any = "mIoU", logger: Any = None,
                 **options: Any) -> dict[str, Any]:
        """Compatibility wrapper over :func:`segdet.evaluation.route.evaluate`.

        Args:
            metric: ``'mIoU'``, ``'mDice'``, ``'mFscore'``, a list of them, or metric classes of
                the ``segdet.metrics`` group.
            logger: a ``logging.Logger`` receiving the per-class table; None prints it; ``'silent'`` not.
            options: ``nan_to_num`` and ``beta`` of :class:`~segdet.evaluation.iou_metric.IoUMetric`;
                keys no metric takes (e.g. from an evaluation hook config) are rejected.

        Returns:
            ``aAcc``, ``mIoU``, ... and per class ``IoU.<name>``, ``Acc.<name>``, ..., fractions in [0, 1].
        """
        if self.CLASSES is None:
            raise ConfigError(f"{type(self).__name__} has no CLASSES: give classes=(...) in its config")
        return evaluate(self, results, metric=metric, logger=logger, **options)
