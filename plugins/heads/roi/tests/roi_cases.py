"""Tiny RoI-head configs and inputs shared by this distribution's tests."""
from __future__ import annotations

import numpy as np
import torch

from segdet.api import build

C = 8
NUM_CLASSES = 3
SIZE = 64
STRIDES = [4, 8, 16, 32]


def _extractor(size: int = 7) -> dict:
    return {"type": "SingleRoIExtractor", "roi_layer": {"type": "RoIAlign", "output_size": size, "sampling_ratio": 0},
            "out_channels": C, "featmap_strides": STRIDES}


def _bbox_head(agnostic: bool = False, stds=(0.1, 0.1, 0.2, 0.2)) -> dict:
    return {"type": "Shared2FCBBoxHead", "in_channels": C, "fc_out_channels": 16, "roi_feat_size": 7,
            "num_classes": NUM_CLASSES, "reg_class_agnostic": agnostic,
            "bbox_coder": {"type": "DeltaXYWHBBoxCoder", "target_means": [0.0] * 4, "target_stds": list(stds)},
            "loss_cls": {"type": "CrossEntropyLoss", "use_sigmoid": False, "loss_weight": 1.0},
            "loss_bbox": {"type": "L1Loss", "loss_weight": 1.0}}


MASK_HEAD = {"type": "FCNMaskHead", "num_convs": 2, "in_channels": C, "conv_out_channels": C,
             "num_classes": NUM_CLASSES, "loss_mask": {"type": "CrossEntropyLoss", "use_mask": True, "loss_weight": 1.0}}


def _train_cfg(pos_iou: float = 0.5) -> dict:
    return {"assigner": {"type": "MaxIoUAssigner", "pos_iou_thr": pos_iou, "neg_iou_thr": pos_iou,
                         "min_pos_iou": pos_iou, "match_low_quality": False, "ignore_iof_thr": -1},
            "sampler": {"type": "RandomSampler", "num": 32, "pos_fraction": 0.25, "neg_pos_ub": -1,
                        "add_gt_as_proposals": True},
            "mask_size": 28, "pos_weight": -1, "debug": False}


TEST_CFG = {"score_thr": 0.0, "nms": {"type": "nms", "iou_threshold": 0.5}, "max_per_img": 20, "mask_thr_binary": 0.5}


def standard(with_mask: bool = True) -> torch.nn.Module:
    torch.manual_seed(0)
    cfg = {"type": "StandardRoIHead", "bbox_roi_extractor": _extractor(), "bbox_head": _bbox_head(),
           "train_cfg": _train_cfg(), "test_cfg": TEST_CFG}
    if with_mask:
        cfg.update(mask_roi_extractor=_extractor(14), mask_head=MASK_HEAD)
    return build(cfg, "heads")


def cascade(with_mask: bool = False, weights=(1.0, 0.5, 0.25)) -> torch.nn.Module:
    torch.manual_seed(0)
    cfg = {"type": "CascadeRoIHead", "num_stages": 3, "stage_loss_weights": list(weights),
           "bbox_roi_extractor": _extractor(),
           "bbox_head": [_bbox_head(True, (0.1, 0.1, 0.2, 0.2)), _bbox_head(True, (0.05, 0.05, 0.1, 0.1)),
                         _bbox_head(True, (0.033, 0.033, 0.067, 0.067))],
           "train_cfg": [_train_cfg(0.5), _train_cfg(0.6), _train_cfg(0.7)], "test_cfg": TEST_CFG}
    if with_mask:
        cfg.update(mask_roi_extractor=_extractor(14), mask_head=MASK_HEAD)
    return build(cfg, "heads")


def feats(batch: int = 2) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(1)
    return [torch.randn(batch, C, SIZE // s, SIZE // s, generator=gen, requires_grad=True) for s in STRIDES]


def metas(batch: int = 2, scale: float = 1.0, flip: bool = False) -> list[dict]:
    ori = (int(round(SIZE / scale)), int(round(SIZE / scale)), 3)
    return [{"img_shape": (SIZE, SIZE, 3), "pad_shape": (SIZE, SIZE, 3), "ori_shape": ori,
             "scale_factor": np.full(4, scale, np.float32), "flip": flip, "flip_direction": "horizontal"}
            for _ in range(batch)]


def gts() -> tuple[list[torch.Tensor], list[torch.Tensor], list[torch.Tensor]]:
    boxes = [torch.tensor([[4.0, 6.0, 30.0, 40.0], [30.0, 20.0, 62.0, 60.0]]), torch.tensor([[10.0, 10.0, 34.0, 30.0]])]
    labels = [torch.tensor([0, 2]), torch.tensor([1])]
    masks = []
    for b in boxes:
        m = torch.zeros((b.shape[0], SIZE, SIZE), dtype=torch.uint8)
        for k, (x1, y1, x2, y2) in enumerate(b.long().tolist()):
            m[k, y1:y2, x1:x2] = 1
        masks.append(m)
    return boxes, labels, masks


def proposals(n: int = 40, batch: int = 2) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(2)
    out = []
    for _ in range(batch):
        xy = torch.rand(n, 2, generator=gen) * 40
        wh = torch.rand(n, 2, generator=gen) * 30 + 4
        out.append(torch.cat([xy, (xy + wh).clamp(max=SIZE), torch.rand(n, 1, generator=gen)], dim=1))
    return out
