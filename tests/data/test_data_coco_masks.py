"""Instance masks from a COCO json through a training pipeline and the collate function."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from segdet.data.builder import build_dataloader
from segdet.data.datasets.coco import CocoDataset
from segdet.data.shapes import SHAPE_CLASSES, make_shapes

PIPELINE = [
    dict(type="LoadImageFromFile"),
    dict(type="LoadAnnotations", with_bbox=True, with_mask=True, poly2mask=True),
    dict(type="Resize", img_scale=[(48, 48), (40, 36)], multiscale_mode="value", keep_ratio=True),
    dict(type="RandomFlip", flip_ratio=0.5, direction=["horizontal", "vertical"]),
    dict(type="Normalize", mean=[0, 0, 0], std=[1, 1, 1], to_rgb=True),
    dict(type="Pad", size_divisor=8),
    dict(type="DefaultFormatBundle"),
    dict(type="Collect", keys=["img", "gt_bboxes", "gt_labels", "gt_masks"]),
]


def test_masks_reach_the_batch_aligned_with_boxes(tmp_path: Path) -> None:
    make_shapes(tmp_path, seed=1, num_train=6, num_val=1, img_size=64)
    ds = CocoDataset(ann_file="annotations/instances_train.json", pipeline=PIPELINE, data_root=str(tmp_path),
                     img_prefix="images/train", classes=SHAPE_CLASSES)
    np.random.seed(0)
    loader = build_dataloader(ds, samples_per_gpu=2, workers_per_gpu=0, shuffle=False)
    checked = 0
    for batch in loader:
        assert isinstance(batch["gt_masks"], list) and len(batch["gt_masks"]) == 2
        for masks, boxes, labels, meta in zip(batch["gt_masks"], batch["gt_bboxes"], batch["gt_labels"],
                                              batch["img_metas"]):
            assert masks.dtype == torch.uint8 and set(masks.unique().tolist()) <= {0, 1}
            assert masks.shape == (len(boxes), *meta["pad_shape"][:2]) and len(labels) == len(boxes)
            h, w = meta["img_shape"][:2]
            assert masks[:, h:].sum() == 0 and masks[:, :, w:].sum() == 0  # padding holds no mask
            for mask, box in zip(masks, boxes):
                ys, xs = torch.nonzero(mask, as_tuple=True)
                mbox = torch.stack([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]).float()
                # polygon rasterisation plus one nearest-neighbour resize: within 2 px of the box
                assert torch.allclose(mbox, box, atol=2.0), (mbox, box, meta["flip_direction"])
                checked += 1
    assert checked >= 6
