"""ATSSHead: MMDetection parameter names and shapes, centerness targets."""
from __future__ import annotations

import torch
from segdet_head_atss.atss_head import anchor_centerness

from segdet.api import build, find_info
from segdet.testing.shared import reference_keys


def test_registered_by_this_distribution():
    assert find_info("ATSSHead", "heads").distribution == "segdet-head-atss"


def test_keys_match_mmdetection():
    ref = reference_keys()["atss/atss_r50_fpn_1x_coco.py"]
    want = {k[len("bbox_head."):]: v for k, v in ref.items() if k.startswith("bbox_head.")}
    head = build({"type": "ATSSHead", "num_classes": 80, "in_channels": 256}, "heads")
    assert {k: list(v.shape) for k, v in head.state_dict().items()} == want


def test_anchor_centerness_hand_computed():
    anchors = torch.tensor([[0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 10.0]])
    gts = torch.tensor([[0.0, 0.0, 10.0, 10.0], [-5.0, 0.0, 10.0, 20.0]])
    # Centre (5, 5): first box l=r, t=b -> 1; second l=10 r=5, t=5 b=15 -> sqrt(0.5 * 1/3).
    torch.testing.assert_close(anchor_centerness(anchors, gts), torch.tensor([1.0, (0.5 / 3) ** 0.5]))
