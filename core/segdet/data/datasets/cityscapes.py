"""Cityscapes (fine annotations, 19 train ids) as MMSegmentation 0.x names it: ``CityscapesDataset``.

Layout (``data_root='data/cityscapes'``)::

    leftImg8bit/train/aachen/aachen_000000_000019_leftImg8bit.png
    gtFine/train/aachen/aachen_000000_000019_gtFine_labelTrainIds.png

The ``*_labelTrainIds.png`` maps (0..18, 255 = ignore) are made from the released label ids by
cityscapesscripts' ``createTrainIdLabelImgs`` (MMSegmentation's ``tools/convert_datasets/cityscapes.py``).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Callable

from .seg_custom import CustomDataset

__all__ = ["CityscapesDataset"]


class CityscapesDataset(CustomDataset):
    """Cityscapes: 19 classes, images ``*_leftImg8bit.png``, maps ``*_gtFine_labelTrainIds.png``.

    Args are :class:`CustomDataset`'s with Cityscapes' suffixes as defaults. The city sub-folders
    are walked (file names keep them: ``aachen/aachen_000000_000019_leftImg8bit.png``).
    """

    CLASSES = ('road', 'sidewalk', 'building', 'wall', 'fence', 'pole', 'traffic light',
               'traffic sign', 'vegetation', 'terrain', 'sky', 'person', 'rider', 'car', 'truck',
               'bus', 'train', 'motorcycle', 'bicycle')
    PALETTE = ((128, 64, 128), (244, 35, 232), (70, 70, 70), (102, 102, 156), (190, 153, 153),
               (153, 153, 153), (250, 170, 30), (220, 220, 0), (107, 142, 35), (152, 251, 152),
               (70, 130, 180), (220, 20, 60), (255, 0, 0), (0, 0, 142), (0, 0, 70), (0, 60, 100),
               (0, 80, 100), (0, 0, 230), (119, 11, 32))

    def __init__(
        self,
        pipeline: Sequence[Mapping[str, Any] | Callable[[dict[str, Any]], Any]],
        img_dir: str,
        img_suffix: str = "_leftImg8bit.png",
        ann_dir: str | None = None,
        seg_map_suffix: str = "_gtFine_labelTrainIds.png",
        split: str | None = None,
        data_root: str | None = None,
        test_mode: bool = False,
        ignore_index: int = 255,
        reduce_zero_label: bool = False,
        classes: str | Sequence[str] | None = None,
        palette: Sequence[Sequence[int]] | None = None,
    ) -> None:
        super().__init__(pipeline, img_dir, img_suffix=img_suffix, ann_dir=ann_dir,
                         seg_map_suffix=seg_map_suffix, split=split, data_root=data_root,
                         test_mode=test_mode, ignore_index=ignore_index,
                         reduce_zero_label=reduce_zero_label, classes=classes, palette=palette)
