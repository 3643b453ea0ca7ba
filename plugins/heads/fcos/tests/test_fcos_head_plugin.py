"""FCOSHead: MMDetection parameter names and shapes, centerness, regression modes."""
from __future__ import annotations

import pytest
import torch
from segdet_head_fcos.fcos_head import distance_centerness

from segdet.api import build, find_info
from segdet.testing.shared import reference_keys

TINY = {"type": "FCOSHead", "num_classes": 2, "in_channels": 8, "feat_channels": 8, "stacked_convs": 1,
        "strides": [8, 16], "regress_ranges": ((-1, 16), (16, 1e8)), "norm_cfg": {"type": "GN", "num_groups": 4}}


def test_registered_by_this_distribution():
    assert find_info("FCOSHead", "heads").distribution == "segdet-head-fcos"


def test_keys_match_mmdetection():
    ref = reference_keys()["fcos/fcos_r50_caffe_fpn_gn-head_1x_coco.py"]
    want = {k[len("bbox_head."):]: v for k, v in ref.items() if k.startswith("bbox_head.")}
    head = build({"type": "FCOSHead", "num_classes": 80, "in_channels": 256, "strides": [8, 16, 32, 64, 128]},
                 "heads")
    assert {k: list(v.shape) for k, v in head.state_dict().items()} == want


def test_distance_centerness_hand_computed():
    ltrb = torch.tensor([[2.0, 3.0, 2.0, 3.0], [1.0, 2.0, 4.0, 8.0]])
    torch.testing.assert_close(distance_centerness(ltrb), torch.tensor([1.0, (0.25 * 0.25) ** 0.5]))
    assert distance_centerness(torch.zeros((0, 4))).shape == (0,)


def test_norm_on_bbox_scales_only_at_test_time():
    head = build({**TINY, "norm_on_bbox": True, "centerness_on_reg": True}, "heads")
    feats = [torch.randn(1, 8, 4, 4), torch.randn(1, 8, 2, 2)]
    train_reg = head(feats)[1]
    head.eval()
    test_reg = head(feats)[1]
    assert (train_reg[0] >= 0).all()
    torch.testing.assert_close(test_reg[0], train_reg[0] * 8)
    torch.testing.assert_close(test_reg[1], train_reg[1] * 16)


def test_center_sampling_restricts_positives():
    gts, labels = [torch.tensor([[0.0, 0.0, 64.0, 64.0]])], [torch.tensor([1])]
    plain = build(dict(TINY), "heads")
    centred = build({**TINY, "center_sampling": True, "center_sample_radius": 0.75}, "heads")
    points = plain.prior_generator.grid_priors([(8, 8), (4, 4)])
    # Level 1 (stride 16) takes the box: all 16 of its points are inside it; only the 2x2
    # points within 0.75 * 16 = 12 px of the centre (32, 32) are inside the sampling region.
    assert int((plain.get_targets(points, gts, labels)[0] == 1).sum()) == 16
    assert int((centred.get_targets(points, gts, labels)[0] == 1).sum()) == 4


def test_dcn_is_refused_with_the_fix():
    with pytest.raises(ValueError, match="dcn_on_last_conv=False"):
        build({**TINY, "dcn_on_last_conv": True}, "heads")
