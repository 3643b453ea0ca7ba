"""Mask R-CNN and Cascade Mask R-CNN assembled from the installed RPN and RoI-head plugins, tiny widths."""
from __future__ import annotations

import copy

import pytest
import torch

from segdet.models.builder import build_model

BOX_CODER = dict(type="DeltaXYWHBBoxCoder", target_means=[0.0] * 4, target_stds=[0.1, 0.1, 0.2, 0.2])


def _bbox_head(stds=(0.1, 0.1, 0.2, 0.2), agnostic=False):
    return dict(type="Shared2FCBBoxHead", in_channels=16, fc_out_channels=32, roi_feat_size=7, num_classes=3,
                bbox_coder={**BOX_CODER, "target_stds": list(stds)}, reg_class_agnostic=agnostic,
                loss_cls=dict(type="CrossEntropyLoss", use_sigmoid=False, loss_weight=1.0),
                loss_bbox=dict(type="L1Loss", loss_weight=1.0))


def _rcnn(thr):
    return dict(assigner=dict(type="MaxIoUAssigner", pos_iou_thr=thr, neg_iou_thr=thr, min_pos_iou=thr,
                              match_low_quality=False, ignore_iof_thr=-1),
                sampler=dict(type="RandomSampler", num=32, pos_fraction=0.25, neg_pos_ub=-1, add_gt_as_proposals=True),
                mask_size=28, pos_weight=-1)


def _cfg(cascade=False):
    roi = dict(
        type="StandardRoIHead",
        bbox_roi_extractor=dict(type="SingleRoIExtractor", roi_layer=dict(type="RoIAlign", output_size=7,
                                                                          sampling_ratio=0),
                                out_channels=16, featmap_strides=[8, 16, 32]),
        bbox_head=_bbox_head(),
        mask_roi_extractor=dict(type="SingleRoIExtractor", roi_layer=dict(type="RoIAlign", output_size=14,
                                                                          sampling_ratio=0),
                                out_channels=16, featmap_strides=[8, 16, 32]),
        mask_head=dict(type="FCNMaskHead", num_convs=1, in_channels=16, conv_out_channels=16, num_classes=3,
                       loss_mask=dict(type="CrossEntropyLoss", use_mask=True, loss_weight=1.0)))
    rcnn_train = _rcnn(0.5)
    if cascade:
        roi.update(type="CascadeRoIHead", num_stages=3, stage_loss_weights=[1, 0.5, 0.25],
                   bbox_head=[_bbox_head(s, True) for s in
                              ((0.1, 0.1, 0.2, 0.2), (0.05, 0.05, 0.1, 0.1), (0.033, 0.033, 0.067, 0.067))])
        rcnn_train = [_rcnn(0.5), _rcnn(0.6), _rcnn(0.7)]
    return dict(
        type="CascadeRCNN" if cascade else "MaskRCNN",
        backbone=dict(type="ResNet", depth=18, base_channels=8, out_indices=(1, 2, 3), init_cfg=None),
        neck=dict(type="FPN", in_channels=[16, 32, 64], out_channels=16, num_outs=3),
        rpn_head=dict(type="RPNHead", in_channels=16, feat_channels=16,
                      anchor_generator=dict(type="AnchorGenerator", scales=[2, 4], ratios=[0.5, 1.0, 2.0],
                                            strides=[8, 16, 32]),
                      loss_bbox=dict(type="L1Loss", loss_weight=1.0)),
        roi_head=roi,
        train_cfg=dict(
            rpn=dict(assigner=dict(type="MaxIoUAssigner", pos_iou_thr=0.7, neg_iou_thr=0.3, min_pos_iou=0.3,
                                   match_low_quality=True, ignore_iof_thr=-1),
                     sampler=dict(type="RandomSampler", num=64, pos_fraction=0.5, neg_pos_ub=-1,
                                  add_gt_as_proposals=False),
                     allowed_border=-1, pos_weight=-1),
            rpn_proposal=dict(nms_pre=100, max_per_img=50, nms=dict(type="nms", iou_threshold=0.7), min_bbox_size=0),
            rcnn=rcnn_train),
        test_cfg=dict(
            rpn=dict(nms_pre=100, max_per_img=50, nms=dict(type="nms", iou_threshold=0.7), min_bbox_size=0),
            rcnn=dict(score_thr=0.0, nms=dict(type="nms", iou_threshold=0.5), max_per_img=20, mask_thr_binary=0.5)),
    )


def _batch(empty=False):
    g = torch.Generator().manual_seed(0)
    metas = [{"img_shape": (64, 64, 3), "pad_shape": (64, 64, 3), "ori_shape": (32, 48, 3),
              "scale_factor": [64 / 48, 2.0, 64 / 48, 2.0], "flip": False} for _ in range(2)]
    boxes = [torch.tensor([[0.0, 0.0, 30.0, 26.0]]), torch.tensor([[16.0, 10.0, 64.0, 64.0], [2.0, 30.0, 20.0, 50.0]])]
    masks = []
    for b in boxes:
        m = torch.zeros((len(b), 64, 64), dtype=torch.uint8)
        for k, (x1, y1, x2, y2) in enumerate(b.long().tolist()):
            m[k, y1:y2, x1:x2] = 1  # the first boxes of both images touch the image border
        masks.append(m)
    if empty:
        boxes, masks = [torch.zeros((0, 4))] * 2, [torch.zeros((0, 64, 64), dtype=torch.uint8)] * 2
    return {"img": torch.randn(2, 3, 64, 64, generator=g), "img_metas": metas, "gt_bboxes": boxes,
            "gt_labels": [torch.arange(len(b)) % 3 for b in boxes], "gt_masks": masks}


@pytest.mark.parametrize("cascade", [False, True])
def test_losses_and_gradients(cascade):
    torch.manual_seed(0)
    model = build_model(_cfg(cascade))
    out = model.train_step(_batch())
    names = set(out["log_vars"])
    assert {"loss_rpn_cls", "loss_rpn_bbox"} <= names
    roi = {"s0.loss_cls", "s2.loss_bbox", "s1.loss_mask"} if cascade else {"loss_cls", "loss_bbox", "loss_mask"}
    assert roi <= names
    out["loss"].backward()
    assert model.backbone.conv1.weight.grad.abs().sum() > 0
    assert model.rpn_head.rpn_conv.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("cascade", [False, True])
def test_empty_ground_truth(cascade):
    torch.manual_seed(0)
    losses = build_model(_cfg(cascade)).forward_train(**_batch(empty=True))
    assert losses["loss_rpn_bbox"].item() == 0.0
    prefixes = ["s0.", "s1.", "s2."] if cascade else [""]
    for p in prefixes:
        assert losses[p + "loss_bbox"].item() == 0.0 and losses[p + "loss_mask"].item() == 0.0
        assert torch.isfinite(losses[p + "loss_cls"]) and losses[p + "loss_cls"].item() > 0
    assert torch.isfinite(losses["loss_rpn_cls"]) and losses["loss_rpn_cls"].item() > 0


def test_cascade_stage_loss_weights_scale_each_stage():
    def losses(weights):
        cfg = _cfg(cascade=True)
        cfg["roi_head"]["stage_loss_weights"] = weights
        torch.manual_seed(0)
        model = build_model(cfg)
        torch.manual_seed(1)
        return model.forward_train(**_batch())

    base, other = losses([1, 0.5, 0.25]), losses([0.5, 2.0, 1.0])
    for stage, factor in ((0, 0.5), (1, 4.0), (2, 4.0)):
        for name in ("loss_cls", "loss_bbox", "loss_mask"):
            key = f"s{stage}.{name}"
            assert other[key].item() == pytest.approx(base[key].item() * factor, rel=1e-4, abs=1e-7)
        assert other[f"s{stage}.acc"].item() == pytest.approx(base[f"s{stage}.acc"].item())
    # the RPN is not a cascade stage
    assert other["loss_rpn_cls"].item() == pytest.approx(base["loss_rpn_cls"].item())


@pytest.mark.parametrize("cascade", [False, True])
def test_results_at_original_size_with_masks(cascade):
    torch.manual_seed(0)
    model = build_model(_cfg(cascade)).eval()
    batch = _batch()
    with torch.no_grad():
        results = model(batch["img"], batch["img_metas"], return_loss=False)
    assert len(results) == 2
    for r in results:
        n = r["bboxes"].shape[0]
        assert 0 < n <= 20 and r["scores"].shape == (n,) and r["labels"].shape == (n,)
        assert r["masks"].dtype == torch.bool and r["masks"].shape == (n, 32, 48)
        assert (r["bboxes"][:, 0::2] <= 48 + 1e-3).all() and (r["bboxes"][:, 1::2] <= 32 + 1e-3).all()


@pytest.mark.parametrize("cascade", [False, True])
def test_no_rpn_proposals(cascade):
    """An image whose RPN keeps nothing: empty detections (and (0, H, W) masks), and training still runs
    on the ground truths the sampler adds as proposals."""
    cfg = _cfg(cascade)
    cfg["test_cfg"]["rpn"]["min_bbox_size"] = 1000
    cfg["train_cfg"]["rpn_proposal"]["min_bbox_size"] = 1000
    torch.manual_seed(0)
    model = build_model(cfg)
    batch = _batch()
    losses = model.forward_train(**batch)
    key = "s0.loss_bbox" if cascade else "loss_bbox"
    assert torch.isfinite(losses[key]) and losses[key].item() > 0  # gt boxes are positives
    model.eval()
    with torch.no_grad():
        results = model.simple_test(batch["img"], batch["img_metas"])
    for r in results:
        assert r["bboxes"].shape == (0, 4) and r["scores"].shape == (0,) and r["labels"].shape == (0,)
        assert r["masks"].shape == (0, 32, 48)


def test_flip_test_time_augmentation_merges_boxes_and_masks():
    torch.manual_seed(0)
    model = build_model(_cfg()).eval()
    batch = _batch()
    flipped = [{**m, "flip": True, "flip_direction": "horizontal"} for m in batch["img_metas"]]
    with torch.no_grad():
        single = model.simple_test(batch["img"], batch["img_metas"])
        merged = model([batch["img"], batch["img"].flip(-1)], [batch["img_metas"], flipped], return_loss=False)
    assert len(merged) == 2
    for r in merged:
        n = r["bboxes"].shape[0]
        assert n > 0 and r["masks"].shape == (n, 32, 48) and r["masks"].dtype == torch.bool
        assert (r["bboxes"][:, 0::2] <= 48 + 1e-3).all() and (r["bboxes"][:, 0::2] >= 0).all()
    # Two identical views (no flip) merge to the single-view result.
    with torch.no_grad():
        twice = model([batch["img"], batch["img"]], [batch["img_metas"], copy.deepcopy(batch["img_metas"])],
                      return_loss=False)
    for r, s in zip(twice, single):
        torch.testing.assert_close(r["bboxes"], s["bboxes"], atol=1e-3, rtol=1e-4)
        assert torch.equal(r["masks"], s["masks"])


@pytest.mark.parametrize("cascade", [False, True])
def test_multi_scale_test_time_augmentation(cascade):
    """Views at two scales (64 px and 32 px of a 32x48 original) merge into original-size results."""
    torch.manual_seed(0)
    model = build_model(_cfg(cascade)).eval()
    batch = _batch()
    small = torch.nn.functional.interpolate(batch["img"], size=(32, 32), mode="bilinear", align_corners=False)
    small_metas = [{**m, "img_shape": (32, 32, 3), "pad_shape": (32, 32, 3),
                    "scale_factor": [32 / 48, 1.0, 32 / 48, 1.0]} for m in batch["img_metas"]]
    with torch.no_grad():
        merged = model([batch["img"], small], [batch["img_metas"], small_metas], return_loss=False)
        proposals = model.rpn_head.aug_test_rpn([model.extract_feat(batch["img"]), model.extract_feat(small)],
                                                [batch["img_metas"], small_metas])
    for p in proposals:  # merged proposals live in the original 32x48 image
        assert p.shape[1] == 5 and 0 < p.shape[0] <= 50
        assert (p[:, 0::2][:, :2] <= 48 + 1e-3).all() and (p[:, 1:4:2] <= 32 + 1e-3).all()
    for r in merged:
        n = r["bboxes"].shape[0]
        assert 0 < n <= 20 and r["masks"].shape == (n, 32, 48)
        assert (r["bboxes"][:, 0::2] <= 48 + 1e-3).all() and (r["bboxes"][:, 1::2] <= 32 + 1e-3).all()


def test_forward_dummy_runs_rpn_and_roi_head():
    model = build_model(_cfg()).eval()
    with torch.no_grad():
        outs = model.forward_dummy(torch.randn(1, 3, 64, 64))
    (rpn_cls, rpn_reg), roi_outs = outs
    assert [tuple(c.shape) for c in rpn_cls] == [(1, 6, 8, 8), (1, 6, 4, 4), (1, 6, 2, 2)]
    assert rpn_reg[0].shape == (1, 24, 8, 8) and roi_outs is not None
