"""RetinaHead: MMDetection parameter names and shapes, built through the registry."""
from __future__ import annotations

import pytest
import torch

from segdet.api import build, find_info
from segdet.testing.shared import reference_keys


def _head_keys(config: str) -> dict[str, list[int]]:
    ref = reference_keys()[config]
    return {k[len("bbox_head."):]: v for k, v in ref.items() if k.startswith("bbox_head.")}


def test_registered_by_this_distribution():
    assert find_info("RetinaHead", "heads").distribution == "segdet-head-retina"


@pytest.mark.parametrize("config", ["retinanet/retinanet_r50_fpn_1x_coco.py", "retinanet/retinanet_r18_fpn_1x_coco.py"])
def test_keys_match_mmdetection(config):
    head = build({"type": "RetinaHead", "num_classes": 80, "in_channels": 256}, "heads")
    got = {k: list(v.shape) for k, v in head.state_dict().items()}
    assert got == _head_keys(config)


def test_tiny_head_forward_and_loss():
    head = build({"type": "RetinaHead", "num_classes": 2, "in_channels": 4, "feat_channels": 8, "stacked_convs": 1,
                  "anchor_generator": {"type": "AnchorGenerator", "octave_base_scale": 2, "scales_per_octave": 1,
                                       "ratios": [1.0], "strides": [8, 16]},
                  "train_cfg": {"assigner": {"type": "MaxIoUAssigner", "pos_iou_thr": 0.5, "neg_iou_thr": 0.4,
                                             "min_pos_iou": 0}}}, "heads")
    feats = [torch.randn(2, 4, 4, 4), torch.randn(2, 4, 2, 2)]
    cls, reg = head(feats)
    assert cls[0].shape == (2, 2, 4, 4) and reg[1].shape == (2, 4, 2, 2)
    metas = [{"img_shape": (32, 32, 3), "pad_shape": (32, 32, 3)}] * 2
    losses = head.loss(cls, reg, [torch.tensor([[2.0, 2.0, 18.0, 18.0]])] * 2, [torch.tensor([1])] * 2, metas)
    assert all(torch.isfinite(v) for v in losses.values())
    assert losses["loss_bbox"].item() > 0
    # The initial class bias makes every prediction start at probability 0.01.
    assert torch.allclose(head.retina_cls.bias.sigmoid(), torch.full((2,), 0.01))
