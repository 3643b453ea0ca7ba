"""Tiny models and batches shared by the tests of ``tests/cuda``."""
from __future__ import annotations

from typing import Any

import pytest
import torch

#: ``cpu`` everywhere, ``cuda`` as a ``cuda``-marked case
DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.cuda)]

_META = {"img_shape": (64, 64, 3), "pad_shape": (64, 64, 3), "ori_shape": (64, 64, 3),
         "scale_factor": [1.0, 1.0, 1.0, 1.0], "flip": False}


def tiny_retinanet_cfg(norm: str = "BN") -> dict[str, Any]:
    """A RetinaNet of 15k parameters: ResNet-18 layout at base width 4 (BatchNorm in training
    mode), FPN of width 8 at strides 8 and 16, one anchor per location."""
    return dict(
        type="RetinaNet",
        backbone=dict(type="ResNet", depth=18, base_channels=4, num_stages=3, strides=(1, 2, 2),
                      dilations=(1, 1, 1), out_indices=(1, 2), frozen_stages=-1,
                      norm_cfg=dict(type=norm, requires_grad=True), norm_eval=False, init_cfg=None),
        neck=dict(type="FPN", in_channels=[8, 16], out_channels=8, start_level=0, num_outs=2),
        bbox_head=dict(type="RetinaHead", num_classes=3, in_channels=8, stacked_convs=1, feat_channels=8,
                       anchor_generator=dict(type="AnchorGenerator", octave_base_scale=4,
                                             scales_per_octave=1, ratios=[1.0], strides=[8, 16])),
        train_cfg=dict(assigner=dict(type="MaxIoUAssigner", pos_iou_thr=0.5, neg_iou_thr=0.4,
                                     min_pos_iou=0, ignore_iof_thr=-1),
                       allowed_border=-1, pos_weight=-1, debug=False),
        test_cfg=dict(nms_pre=100, min_bbox_size=0, score_thr=0.0,
                      nms=dict(type="nms", iou_threshold=0.5), max_per_img=20))


def tiny_batch(seed: int = 0) -> dict[str, Any]:
    """Batch 2 of 64x64 images with one or two boxes each (CPU tensors, as a loader yields)."""
    gen = torch.Generator().manual_seed(seed)
    return {"img": torch.randn(2, 3, 64, 64, generator=gen),
            "img_metas": [dict(_META), dict(_META)],
            "gt_bboxes": [torch.tensor([[4.0, 4.0, 40.0, 40.0]]),
                          torch.tensor([[10.0, 20.0, 50.0, 60.0], [30.0, 2.0, 62.0, 30.0]])],
            "gt_labels": [torch.tensor([1]), torch.tensor([2, 0])]}


