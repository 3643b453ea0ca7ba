"""PASCAL VOC 2007 / 2012 detection, as MMDetection 2.x's ``VOCDataset``."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .xml_style import XMLDataset

__all__ = ["VOCDataset", "VOC_CLASSES"]

VOC_CLASSES = (
    "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train",
    "tvmonitor",
)


class VOCDataset(XMLDataset):
    """A ``VOCdevkit/VOC2007`` or ``VOC2012`` folder: ``JPEGImages/``, ``Annotations/``, ``ImageSets/``.

    Arguments as :class:`XMLDataset`; the classes default to the 20 VOC names. The year is read
    from ``img_prefix`` (``'VOC2007'`` or ``'VOC2012'`` in it; otherwise None). ``evaluate`` follows
    the VOC devkit: pixel-inclusive box areas, and 11-point AP for 2007, area AP otherwise.

    Example::

        VOCDataset(ann_file='VOC2007/ImageSets/Main/test.txt', img_prefix='VOC2007/',
                   data_root='data/VOCdevkit/', pipeline=test_pipeline, test_mode=True)
    """

    CLASSES: tuple[str, ...] = VOC_CLASSES

    def __init__(self, ann_file: str, pipeline: Sequence[Mapping[str, Any]],
                 classes: str | Sequence[str] | None = None, data_root: str | None = None,
                 img_prefix: str = "", seg_prefix: str | None = None, test_mode: bool = False,
                 filter_empty_gt: bool = True, img_subdir: str = "JPEGImages",
                 ann_subdir: str = "Annotations", min_size: float | None = None,
                 file_client_args: Mapping[str, Any] | None = None) -> None:
        super().__init__(ann_file=ann_file, pipeline=pipeline, classes=classes, data_root=data_root,
                         img_prefix=img_prefix, seg_prefix=seg_prefix, test_mode=test_mode,
                         filter_empty_gt=filter_empty_gt, img_subdir=img_subdir, ann_subdir=ann_subdir,
                         min_size=min_size, file_client_args=file_client_args)
        self.year: int | None = (2007 if "VOC2007" in self.img_prefix
                                 else 2012 if "VOC2012" in self.img_prefix else None)

    def _voc_eval_options(self) -> tuple[str, bool]:
        return ("11points" if self.year == 2007 else "area"), True
