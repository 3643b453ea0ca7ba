"""RPNHead: MMDetection names and shapes, losses (incl. empty ground truth) and proposals."""
from __future__ import annotations

import pytest
import torch

from segdet.api import build, find_info
from segdet.testing.shared import reference_keys

STRIDES = [8, 16]


def _head(**over):
    cfg = {
        "type": "RPNHead", "in_channels": 4, "feat_channels": 8,
        "anchor_generator": {"type": "AnchorGenerator", "scales": [2], "ratios": [0.5, 1.0, 2.0],
                             "strides": STRIDES},
        "loss_bbox": {"type": "L1Loss", "loss_weight": 1.0},
        "train_cfg": {
            "assigner": {"type": "MaxIoUAssigner", "pos_iou_thr": 0.7, "neg_iou_thr": 0.3, "min_pos_iou": 0.3,
                         "match_low_quality": True, "ignore_iof_thr": -1},
            "sampler": {"type": "RandomSampler", "num": 64, "pos_fraction": 0.5, "neg_pos_ub": -1,
                        "add_gt_as_proposals": False},
            "allowed_border": -1, "pos_weight": -1},
        "test_cfg": {"nms_pre": 50, "max_per_img": 20, "nms": {"type": "nms", "iou_threshold": 0.7},
                     "min_bbox_size": 0},
    }
    cfg.update(over)
    return build(cfg, "heads")


def _feats(batch=2):
    g = torch.Generator().manual_seed(0)
    return [torch.randn(batch, 4, 64 // s, 64 // s, generator=g) for s in STRIDES]


def _metas(batch=2):
    return [{"img_shape": (64, 64, 3), "pad_shape": (64, 64, 3), "ori_shape": (32, 32, 3),
             "scale_factor": [2.0, 2.0, 2.0, 2.0], "flip": False} for _ in range(batch)]


def test_registered_by_this_distribution():
    assert find_info("RPNHead", "heads").distribution == "segdet-head-rpn"


@pytest.mark.parametrize("config", ["faster_rcnn/faster_rcnn_r50_fpn_1x_coco.py",
                                    "mask_rcnn/mask_rcnn_r50_fpn_1x_coco.py"])
def test_keys_match_mmdetection(config):
    ref = reference_keys()[config]
    want = {k[len("rpn_head."):]: v for k, v in ref.items() if k.startswith("rpn_head.")}
    head = build({"type": "RPNHead", "in_channels": 256, "feat_channels": 256,
                  "anchor_generator": {"type": "AnchorGenerator", "scales": [8], "ratios": [0.5, 1.0, 2.0],
                                       "strides": [4, 8, 16, 32, 64]}}, "heads")
    assert {k: list(v.shape) for k, v in head.state_dict().items()} == want


def test_num_convs_stack_keys():
    head = _head(num_convs=2)
    keys = set(head.state_dict())
    assert {"rpn_conv.0.conv.weight", "rpn_conv.1.conv.weight", "rpn_cls.weight", "rpn_reg.weight"} <= keys
    cls, reg = head(_feats())
    assert cls[0].shape == (2, 3, 8, 8) and reg[1].shape == (2, 12, 4, 4)
    with pytest.raises(ValueError, match="num_convs"):
        _head(num_convs=0)


def test_losses_and_gradients():
    torch.manual_seed(0)
    head = _head()
    gt = [torch.tensor([[8.0, 8.0, 40.0, 30.0]]), torch.tensor([[20.0, 20.0, 50.0, 60.0], [0.0, 0.0, 16.0, 16.0]])]
    losses = head.forward_train(_feats(), _metas(), gt)
    assert set(losses) == {"loss_rpn_cls", "loss_rpn_bbox"}
    assert losses["loss_rpn_bbox"].item() > 0
    (losses["loss_rpn_cls"] + losses["loss_rpn_bbox"]).backward()
    assert head.rpn_cls.weight.grad.abs().sum() > 0 and head.rpn_reg.weight.grad.abs().sum() > 0


def test_empty_gt_gives_zero_box_loss_and_finite_cls_loss():
    torch.manual_seed(0)
    head = _head()
    empty = [torch.zeros((0, 4)), torch.zeros((0, 4))]
    losses = head.forward_train(_feats(), _metas(), empty)
    assert losses["loss_rpn_bbox"].item() == 0.0
    assert torch.isfinite(losses["loss_rpn_cls"]) and losses["loss_rpn_cls"].item() > 0
    # With zero-initialised logits every anchor has p=0.5: the mean BCE over sampled negatives is log 2.
    torch.nn.init.zeros_(head.rpn_cls.weight)
    torch.nn.init.zeros_(head.rpn_cls.bias)
    losses = head.forward_train(_feats(), _metas(), empty)
    assert losses["loss_rpn_cls"].item() == pytest.approx(float(torch.log(torch.tensor(2.0))), rel=1e-5)


def test_forward_train_with_proposal_cfg_returns_detached_proposals():
    head = _head()
    gt = [torch.tensor([[8.0, 8.0, 40.0, 30.0]])] * 2
    cfg = {"nms_pre": 30, "max_per_img": 10, "nms": {"type": "nms", "iou_threshold": 0.7}, "min_bbox_size": 0}
    losses, proposals = head.forward_train(_feats(), _metas(), gt, proposal_cfg=cfg)
    assert "loss_rpn_cls" in losses and len(proposals) == 2
    for p in proposals:
        assert p.shape[1] == 5 and 0 < p.shape[0] <= 10 and not p.requires_grad


def test_proposals_by_hand_nms_pre_per_level_and_clip():
    """Level 0's best anchor beats level 1's; identical boxes of different levels both survive NMS."""
    head = _head(test_cfg={"nms_pre": 1, "max_per_img": 5, "nms": {"type": "nms", "iou_threshold": 0.7},
                           "min_bbox_size": 0})
    cls = [torch.full((1, 3, 8, 8), -5.0), torch.full((1, 3, 4, 4), -5.0)]
    cls[0][0, 1, 3, 3] = 4.0   # level 0: location (3, 3), ratio 1.0
    cls[1][0, 1, 1, 1] = 2.0   # level 1: location (1, 1), ratio 1.0
    reg = [torch.zeros(1, 12, 8, 8), torch.zeros(1, 12, 4, 4)]
    meta = _metas(1)
    props = head.get_bboxes(cls, reg, img_metas=meta)[0]
    assert props.shape == (2, 5)
    # anchor of level 0 at (24, 24), size 16; level 1 at (16, 16), size 32 -> clipped at 0
    torch.testing.assert_close(props[0], torch.tensor([16.0, 16.0, 32.0, 32.0, torch.sigmoid(torch.tensor(4.0))]))
    torch.testing.assert_close(props[1], torch.tensor([0.0, 0.0, 32.0, 32.0, torch.sigmoid(torch.tensor(2.0))]))
    rescaled = head.get_bboxes(cls, reg, img_metas=meta, rescale=True)[0]
    torch.testing.assert_close(rescaled[:, :4], props[:, :4] / 2)
    results = head.simple_test([torch.zeros(1, 4, 8, 8), torch.zeros(1, 4, 4, 4)], meta, rescale=True)
    assert set(results[0]) == {"bboxes", "scores", "labels"} and bool((results[0]["labels"] == 0).all())


def test_min_bbox_size_can_remove_every_proposal():
    head = _head(test_cfg={"nms_pre": 10, "max_per_img": 5, "nms": {"type": "nms", "iou_threshold": 0.7},
                           "min_bbox_size": 1000})
    props = head.simple_test_rpn(_feats(1), _metas(1))
    assert props[0].shape == (0, 5)


def test_aug_test_rpn_maps_views_back_and_merges(monkeypatch):
    head = _head(test_cfg={"nms_pre": 10, "max_per_img": 2, "nms": {"type": "nms", "iou_threshold": 0.7},
                           "min_bbox_size": 0})
    meta = _metas(1)[0]  # scale 2, img 64x64, original 32x32
    flipped = {**meta, "flip": True, "flip_direction": "horizontal"}
    views = {
        id(meta): [torch.tensor([[8.0, 8.0, 24.0, 40.0, 0.9], [40.0, 40.0, 60.0, 60.0, 0.2]])],
        # the same object seen mirrored (x -> 64 - x), slightly lower score; and a third box
        id(flipped): [torch.tensor([[40.0, 8.0, 56.0, 40.0, 0.8], [0.0, 0.0, 10.0, 10.0, 0.5]])],
    }
    monkeypatch.setattr(head, "simple_test_rpn", lambda feats, metas: views[id(metas[0])])
    merged = head.aug_test_rpn([None, None], [[meta], [flipped]])[0]
    # NMS merges the two views of the object (identical after mapping back), max_per_img=2
    torch.testing.assert_close(merged, torch.tensor([[4.0, 4.0, 12.0, 20.0, 0.9], [27.0, 0.0, 32.0, 5.0, 0.5]]))
    results = head.aug_test([None, None], [[meta], [flipped]], rescale=False)
    torch.testing.assert_close(results[0]["bboxes"], merged[:, :4] * 2)
