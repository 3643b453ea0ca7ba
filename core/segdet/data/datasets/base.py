"""What every detection dataset shares: class names, paths, the sample loop and its retry."""
from __future__ import annotations

import os.path as osp
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ...errors import DataFileNotFoundError
from ..transforms.compose import Compose

__all__ = ["DetDatasetBase", "join_root", "resolve_classes"]

_MAX_RETRIES = 50


def resolve_classes(classes: str | Sequence[str] | None, default: Sequence[str]) -> tuple[str, ...]:
    """``None`` -> ``default``; a path -> one name per line; a list -> as given."""
    if classes is None:
        return tuple(default)
    if isinstance(classes, str):
        if not osp.isfile(classes):
            raise DataFileNotFoundError(f"classes file {classes!r} (config key 'classes') does not exist")
        with open(classes) as f:
            return tuple(line.strip() for line in f if line.strip())
    return tuple(classes)


def join_root(root: str | None, path: str | None) -> str | None:
    """``root/path`` for a relative ``path``; ``path`` itself when either is None or it is absolute."""
    if path is None or root is None or osp.isabs(path):
        return path
    return osp.join(root, path)


class DetDatasetBase:
    """Base of the detection datasets (MMDetection 2.x ``CustomDataset`` behaviour).

    A subclass fills ``data_infos`` (one dict per image with at least ``filename``, ``width``,
    ``height``) and implements ``get_ann_info(idx)``; the base gives ``len``, the sample dict
    handed to the pipeline (``img_info``, ``ann_info``, prefixes, empty field lists) and the
    training retry: a pipeline that drops a sample (``None``, e.g. a crop without boxes) draws
    another image, as MMDetection does.

    Args of ``_init_common``:
        ann_file, data_root, img_prefix, seg_prefix: as the subclass documents them; relative
            paths are joined to ``data_root``.
        classes: names, a txt file of names, or None for the class's ``CLASSES``.
        test_mode: samples come from the test pipeline, without annotations.
        filter_empty_gt: in training, drop images without an object of the chosen classes.
    """

    CLASSES: tuple[str, ...] = ()
    ann_file: str
    img_prefix: str
    seg_prefix: str | None
    test_mode: bool
    filter_empty_gt: bool
    data_infos: list[dict[str, Any]]
    pipeline: Compose

    def _init_common(self, ann_file: str, pipeline: Sequence[Mapping[str, Any]],
                     classes: str | Sequence[str] | None, data_root: str | None, img_prefix: str,
                     seg_prefix: str | None, test_mode: bool, filter_empty_gt: bool) -> None:
        self.ann_file = join_root(data_root, ann_file) or ann_file
        self.img_prefix = join_root(data_root, img_prefix) or ""
        self.seg_prefix = join_root(data_root, seg_prefix)
        self.test_mode = test_mode
        self.filter_empty_gt = filter_empty_gt
        self.CLASSES = resolve_classes(classes, type(self).CLASSES)
        self.pipeline = Compose(pipeline)

    def __len__(self) -> int:
        return len(self.data_infos)

    def get_ann_info(self, idx: int) -> dict[str, Any]:
        """Annotations of image ``idx``: ``bboxes`` float32 (K, 4), ``labels`` int64 (K,), ..."""
        raise NotImplementedError(f"{type(self).__name__} must implement get_ann_info")

    def pre_pipeline(self, results: dict[str, Any]) -> None:
        """Prefixes and the empty field lists the loading transforms append to."""
        results["img_prefix"] = self.img_prefix
        results["seg_prefix"] = self.seg_prefix
        results["bbox_fields"], results["mask_fields"], results["seg_fields"] = [], [], []

    def prepare_train_img(self, idx: int) -> dict[str, Any] | None:
        results = dict(img_info=self.data_infos[idx], ann_info=self.get_ann_info(idx))
        self.pre_pipeline(results)
        return self.pipeline(results)

    def prepare_test_img(self, idx: int) -> dict[str, Any] | None:
        results: dict[str, Any] = dict(img_info=self.data_infos[idx])
        self.pre_pipeline(results)
        return self.pipeline(results)

    def __getitem__(self, idx: int) -> dict[str, Any]:
        if self.test_mode:
            data = self.prepare_test_img(idx)
            assert data is not None, "test pipelines never drop samples"
            return data
        for _ in range(_MAX_RETRIES):
            data = self.prepare_train_img(idx)
            if data is not None:
                return data
            idx = int(np.random.randint(len(self)))
        raise RuntimeError(f"{type(self).__name__}: the training pipeline dropped {_MAX_RETRIES} samples "
                           f"in a row; check RandomCrop / MinIoURandomCrop settings")

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(ann_file={self.ann_file!r}, images={len(self)}, "
                f"classes={len(self.CLASSES)}, test_mode={self.test_mode})")
