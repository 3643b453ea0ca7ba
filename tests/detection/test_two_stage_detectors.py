"""TwoStageDetector / FasterRCNN / MaskRCNN / CascadeRCNN assemblies around a recording stand-in RoI head.

The stand-in checks what the detector hands over (proposals, cfg sections, masks) without
depending on the RoI-head plugin; tests with the real RoI heads live beside the configs.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
import torch
from torch import nn

from segdet.models.builder import build_model
from segdet.registry.slots import slots_of
from segdet.testing.toys import registered

FAKE = "RecordingRoIHeadForTwoStageTests"


class RecordingRoIHead(nn.Module):
    """Records its inputs; its loss depends on the features so gradients reach the backbone."""

    def __init__(self, in_channels: int = 16, with_mask: bool = False, loss_name: str = "loss_cls",
                 train_cfg: Any = None, test_cfg: Any = None) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))
        self.with_mask = with_mask
        self.loss_name = loss_name
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        self.calls: list[dict[str, Any]] = []

    def forward_train(self, x, img_metas, proposal_list, gt_bboxes, gt_labels, gt_bboxes_ignore=None,
                      gt_masks=None):
        self.calls.append({"proposals": proposal_list, "gt_masks": gt_masks, "gt_labels": gt_labels})
        return {self.loss_name: self.scale * sum(f.mean() for f in x), "acc": torch.tensor(50.0)}

    def simple_test(self, x, proposal_list, img_metas, rescale=True):
        self.calls.append({"proposals": proposal_list, "rescale": rescale})
        return [{"bboxes": p[:, :4], "scores": p[:, 4], "labels": torch.zeros(len(p), dtype=torch.long)}
                for p in proposal_list]

    def aug_test(self, feats_list, proposal_list, img_metas_list, rescale=True):
        self.calls.append({"proposals": proposal_list, "views": len(feats_list)})
        return [{"bboxes": p[:, :4], "scores": p[:, 4], "labels": torch.zeros(len(p), dtype=torch.long)}
                for p in proposal_list]


@pytest.fixture
def fake_roi_head():
    with registered("heads", FAKE, RecordingRoIHead):
        yield RecordingRoIHead


RPN_TRAIN = {
    "assigner": {"type": "MaxIoUAssigner", "pos_iou_thr": 0.7, "neg_iou_thr": 0.3, "min_pos_iou": 0.3,
                 "match_low_quality": True, "ignore_iof_thr": -1},
    "sampler": {"type": "RandomSampler", "num": 64, "pos_fraction": 0.5, "neg_pos_ub": -1,
                "add_gt_as_proposals": False},
    "allowed_border": -1, "pos_weight": -1,
}


def _cfg(kind: str = "FasterRCNN", rpn_proposal: Mapping[str, Any] | None = None, **roi: Any) -> dict[str, Any]:
    train_cfg: dict[str, Any] = {"rpn": RPN_TRAIN, "rcnn": {"marker": "train-rcnn"}}
    if rpn_proposal is not None:
        train_cfg["rpn_proposal"] = rpn_proposal
    return {
        "type": kind,
        "backbone": {"type": "ResNet", "depth": 18, "base_channels": 8, "out_indices": (1, 2, 3),
                     "norm_cfg": {"type": "BN", "requires_grad": True}, "norm_eval": False, "init_cfg": None},
        "neck": {"type": "FPN", "in_channels": [16, 32, 64], "out_channels": 16, "num_outs": 3},
        "rpn_head": {"type": "RPNHead", "in_channels": 16, "feat_channels": 16,
                     "anchor_generator": {"type": "AnchorGenerator", "scales": [2], "ratios": [0.5, 1.0, 2.0],
                                          "strides": [8, 16, 32]},
                     "loss_bbox": {"type": "L1Loss", "loss_weight": 1.0}},
        "roi_head": {"type": FAKE, **roi},
        "train_cfg": train_cfg,
        "test_cfg": {"rpn": {"nms_pre": 40, "max_per_img": 7, "nms": {"type": "nms", "iou_threshold": 0.7},
                             "min_bbox_size": 0},
                     "rcnn": {"marker": "test-rcnn"}},
    }


def _batch(with_gt: bool = True) -> dict[str, Any]:
    g = torch.Generator().manual_seed(0)
    metas = [{"img_shape": (64, 64, 3), "pad_shape": (64, 64, 3), "ori_shape": (32, 32, 3),
              "scale_factor": [2.0, 2.0, 2.0, 2.0], "flip": False} for _ in range(2)]
    boxes = [torch.tensor([[8.0, 8.0, 40.0, 36.0]]), torch.tensor([[16.0, 10.0, 60.0, 50.0], [2.0, 2.0, 20.0, 18.0]])]
    if not with_gt:
        boxes = [torch.zeros((0, 4)), torch.zeros((0, 4))]
    return {"img": torch.randn(2, 3, 64, 64, generator=g), "img_metas": metas, "gt_bboxes": boxes,
            "gt_labels": [torch.zeros(len(b), dtype=torch.long) for b in boxes],
            "gt_masks": [torch.ones((len(b), 64, 64), dtype=torch.uint8) for b in boxes]}


def test_slots_are_declared():
    from segdet.models.detectors.cascade_rcnn import CascadeRCNN
    from segdet.models.detectors.rpn import RPN
    from segdet.models.detectors.two_stage import MaskRCNN

    slots = slots_of(MaskRCNN)
    assert set(slots) == {"backbone", "neck", "rpn_head", "roi_head"}
    assert dict(slots["rpn_head"].passes) == {"train_cfg": "train_cfg.rpn", "test_cfg": "test_cfg.rpn"}
    assert dict(slots["roi_head"].passes) == {"train_cfg": "train_cfg.rcnn", "test_cfg": "test_cfg.rcnn"}
    assert "in_channels" in slots["rpn_head"].fills and slots["roi_head"].group == "heads"
    assert slots_of(CascadeRCNN) == slots
    assert set(slots_of(RPN)) == {"backbone", "neck", "rpn_head"}


def test_cfg_sections_are_handed_down(fake_roi_head):
    model = build_model(_cfg())
    assert model.roi_head.train_cfg == {"marker": "train-rcnn"}
    assert model.roi_head.test_cfg == {"marker": "test-rcnn"}
    assert model.rpn_head.train_cfg["sampler"]["num"] == 64
    assert model.rpn_head.test_cfg["max_per_img"] == 7
    assert model.rpn_head.in_channels == 16 and model.with_rpn and not model.with_mask
    assert build_model(_cfg(with_mask=True)).with_mask


def test_forward_train_losses_proposals_and_gradients(fake_roi_head):
    torch.manual_seed(0)
    proposal_cfg = {"nms_pre": 30, "max_per_img": 5, "nms": {"type": "nms", "iou_threshold": 0.7},
                    "min_bbox_size": 0}
    model = build_model(_cfg(rpn_proposal=proposal_cfg))
    batch = _batch()
    out = model.train_step(batch)
    assert {"loss_rpn_cls", "loss_rpn_bbox", "loss_cls", "acc", "loss"} <= set(out["log_vars"])
    # 'acc' is logged, not summed into the loss
    expected = sum(v for k, v in out["log_vars"].items() if k.startswith("loss_"))
    assert out["loss"].item() == pytest.approx(expected, rel=1e-5)
    call = model.roi_head.calls[-1]
    assert len(call["proposals"]) == 2
    for p in call["proposals"]:
        assert p.shape[1] == 5 and 0 < p.shape[0] <= 5 and not p.requires_grad
        assert (p[:, :4] >= 0).all() and (p[:, :4] <= 64).all()
    assert call["gt_masks"] is batch["gt_masks"]
    out["loss"].backward()
    assert model.backbone.conv1.weight.grad.abs().sum() > 0
    assert model.rpn_head.rpn_reg.weight.grad.abs().sum() > 0


def test_training_proposals_default_to_test_cfg_rpn(fake_roi_head):
    model = build_model(_cfg())
    model.forward_train(**_batch())
    assert all(p.shape[0] <= 7 for p in model.roi_head.calls[-1]["proposals"])


def test_empty_gt_gives_zero_rpn_box_loss(fake_roi_head):
    model = build_model(_cfg())
    losses = model.forward_train(**_batch(with_gt=False))
    assert losses["loss_rpn_bbox"].item() == 0.0
    assert torch.isfinite(losses["loss_rpn_cls"]) and losses["loss_rpn_cls"].item() > 0


def test_simple_test_uses_rpn_test_proposals(fake_roi_head):
    model = build_model(_cfg()).eval()
    batch = _batch()
    with torch.no_grad():
        results = model(batch["img"], batch["img_metas"], return_loss=False)
    assert len(results) == 2 and all(r["bboxes"].shape[0] <= 7 for r in results)
    assert model.roi_head.calls[-1]["rescale"] is True


def test_no_proposals_reach_the_roi_head(fake_roi_head):
    """An RPN whose boxes are all below min_bbox_size hands (0, 5) proposals on."""
    cfg = _cfg()
    cfg["test_cfg"]["rpn"]["min_bbox_size"] = 1000
    model = build_model(cfg).eval()
    batch = _batch()
    with torch.no_grad():
        results = model.simple_test(batch["img"], batch["img_metas"])
    assert [tuple(p.shape) for p in model.roi_head.calls[-1]["proposals"]] == [(0, 5), (0, 5)]
    assert all(r["bboxes"].shape == (0, 4) for r in results)


def test_aug_test_merges_views_in_original_image(fake_roi_head):
    model = build_model(_cfg()).eval()
    batch = _batch()
    flipped = [{**m, "flip": True, "flip_direction": "horizontal"} for m in batch["img_metas"]]
    with torch.no_grad():
        model([batch["img"], batch["img"].flip(-1)], [batch["img_metas"], flipped], return_loss=False)
    call = model.roi_head.calls[-1]
    assert call["views"] == 2
    for p in call["proposals"]:  # original image is 32 x 32
        assert p.shape[1] == 5 and p.shape[0] <= 7 and (p[:, :4] <= 32 + 1e-4).all()


def test_without_rpn_proposals_are_required(fake_roi_head):
    cfg = _cfg()
    del cfg["rpn_head"]
    model = build_model(cfg)
    batch = _batch()
    with pytest.raises(ValueError, match="proposals"):
        model.forward_train(**batch)
    given = [torch.tensor([[0.0, 0.0, 10.0, 10.0, 1.0]]), torch.zeros((0, 5))]
    model.forward_train(**batch, proposals=given)
    assert model.roi_head.calls[-1]["proposals"] is given


def test_clashing_loss_names_are_an_error(fake_roi_head):
    model = build_model(_cfg(loss_name="loss_rpn_cls"))
    with pytest.raises(RuntimeError, match="loss_rpn_cls"):
        model.forward_train(**_batch())


def test_cascade_hands_the_per_stage_list_to_the_roi_head(fake_roi_head):
    cfg = _cfg("CascadeRCNN")
    stages = [{"assigner": {"type": "MaxIoUAssigner", "pos_iou_thr": t, "neg_iou_thr": t}} for t in (0.5, 0.6, 0.7)]
    cfg["train_cfg"]["rcnn"] = stages
    model = build_model(cfg)
    assert type(model).__name__ == "CascadeRCNN"
    assert [s["assigner"]["pos_iou_thr"] for s in model.roi_head.train_cfg] == [0.5, 0.6, 0.7]


def test_missing_roi_head_is_a_clear_error():
    cfg = _cfg()
    del cfg["roi_head"]
    with pytest.raises(ValueError, match="roi_head"):
        build_model(cfg)
