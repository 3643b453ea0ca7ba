"""PASCAL VOC 2012 semantic segmentation as MMSegmentation 0.x names it: ``PascalVOCDataset``.

Layout (``data_root='data/VOCdevkit/VOC2012'``)::

    JPEGImages/2007_000032.jpg     SegmentationClass/2007_000032.png
    ImageSets/Segmentation/train.txt  (names without suffix, one a line)

Label maps are palette PNGs whose pixel values are the class indices 0..20 (255 = the border,
ignored); they are read as indices, not colours. (The detection data set of the same images is
``VOCDataset``.)
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Callable

from ...errors import ConfigError
from .seg_custom import CustomDataset

__all__ = ["PascalVOCDataset"]


class PascalVOCDataset(CustomDataset):
    """PASCAL VOC: background + 20 classes, images ``*.jpg``, maps ``*.png``, a ``split`` file.

    Args are :class:`CustomDataset`'s; ``split`` is required (as in MMSegmentation), e.g.
    ``'ImageSets/Segmentation/train.txt'``.
    """

    CLASSES = ('background', 'aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat',
               'chair', 'cow', 'diningtable', 'dog', 'horse', 'motorbike', 'person', 'pottedplant',
               'sheep', 'sofa', 'train', 'tvmonitor')
    PALETTE = ((0, 0, 0), (128, 0, 0), (0, 128, 0), (128, 128, 0), (0, 0, 128), (128, 0, 128),
               (0, 128, 128), (128, 128, 128), (64, 0, 0), (192, 0, 0), (64, 128, 0), (192, 128, 0),
               (64, 0, 128), (192, 0, 128), (64, 128, 128), (192, 128, 128), (0, 64, 0), (128, 64, 0),
               (0, 192, 0), (128, 192, 0), (0, 64, 128))

    def __init__(
        self,
        pipeline: Sequence[Mapping[str, Any] | Callable[[dict[str, Any]], Any]],
        img_dir: str,
        split: str | None = None,
        img_suffix: str = ".jpg",
        ann_dir: str | None = None,
        seg_map_suffix: str = ".png",
        data_root: str | None = None,
        test_mode: bool = False,
        ignore_index: int = 255,
        reduce_zero_label: bool = False,
        classes: str | Sequence[str] | None = None,
        palette: Sequence[Sequence[int]] | None = None,
    ) -> None:
        if split is None:
            raise ConfigError("PascalVOCDataset needs split=, the file of image names of this split "
                              "(e.g. split='ImageSets/Segmentation/train.txt', relative to data_root)")
        super().__init__(pipeline, img_dir, img_suffix=img_suffix, ann_dir=ann_dir,
                         seg_map_suffix=seg_map_suffix, split=split, data_root=data_root,
                         test_mode=test_mode, ignore_index=ignore_index,
                         reduce_zero_label=reduce_zero_label, classes=classes, palette=palette)
