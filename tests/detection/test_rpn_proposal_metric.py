"""The proposal-only RPN detector end to end: training batches without labels, test loop, ``proposal`` metric."""
from __future__ import annotations

import json

import pytest
import torch

from segdet.data.builder import build_dataloader, build_dataset
from segdet.data.shapes import make_shapes
from segdet.engine.test import single_gpu_test
from segdet.models.builder import build_model

NORM = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
TRAIN_PIPELINE = [
    dict(type="LoadImageFromFile"),
    dict(type="LoadAnnotations", with_bbox=True, with_label=False),
    dict(type="Resize", img_scale=(64, 64), keep_ratio=True),
    dict(type="Normalize", **NORM),
    dict(type="Pad", size_divisor=32),
    dict(type="DefaultFormatBundle"),
    dict(type="Collect", keys=["img", "gt_bboxes"]),
]
TEST_PIPELINE = [
    dict(type="LoadImageFromFile"),
    dict(type="MultiScaleFlipAug", img_scale=(64, 64), flip=False, transforms=[
        dict(type="Resize", keep_ratio=True), dict(type="RandomFlip"), dict(type="Normalize", **NORM),
        dict(type="Pad", size_divisor=32), dict(type="ImageToTensor", keys=["img"]), dict(type="Collect", keys=["img"]),
    ]),
]
MODEL = dict(
    type="RPN",
    backbone=dict(type="ResNet", depth=18, base_channels=8, out_indices=(1, 2, 3), init_cfg=None),
    neck=dict(type="FPN", in_channels=[16, 32, 64], out_channels=16, num_outs=3),
    rpn_head=dict(type="RPNHead", in_channels=16, feat_channels=16,
                  anchor_generator=dict(type="AnchorGenerator", scales=[2, 4], ratios=[0.5, 1.0, 2.0],
                                        strides=[8, 16, 32]),
                  loss_bbox=dict(type="L1Loss", loss_weight=1.0)),
    train_cfg=dict(rpn=dict(
        assigner=dict(type="MaxIoUAssigner", pos_iou_thr=0.7, neg_iou_thr=0.3, min_pos_iou=0.3, ignore_iof_thr=-1),
        sampler=dict(type="RandomSampler", num=64, pos_fraction=0.5, neg_pos_ub=-1, add_gt_as_proposals=False),
        allowed_border=0, pos_weight=-1)),
    test_cfg=dict(rpn=dict(nms_pre=200, max_per_img=150, nms=dict(type="nms", iou_threshold=0.7), min_bbox_size=0)),
)


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    root = tmp_path_factory.mktemp("shapes_rpn")
    make_shapes(root, seed=3, num_train=4, num_val=4, img_size=64)
    return root


def _dataset(root, split, pipeline, test_mode):
    return build_dataset(dict(type="CocoDataset", classes=("circle", "square", "triangle"),
                              ann_file=str(root / "annotations" / f"instances_{split}.json"),
                              img_prefix=str(root / "images" / split), pipeline=pipeline, test_mode=test_mode))


def test_rpn_trains_on_label_free_batches(shapes):
    torch.manual_seed(0)
    model = build_model(MODEL)
    loader = build_dataloader(_dataset(shapes, "train", TRAIN_PIPELINE, False), 2, 0, shuffle=False)
    batch = next(iter(loader))
    assert "gt_labels" not in batch
    out = model.train_step(batch)
    assert set(out["log_vars"]) == {"loss_rpn_cls", "loss_rpn_bbox", "loss"}
    assert out["log_vars"]["loss_rpn_bbox"] > 0
    out["loss"].backward()
    assert model.rpn_head.rpn_cls.weight.grad.abs().sum() > 0


def test_rpn_proposals_evaluated_with_the_proposal_metric(shapes):
    torch.manual_seed(0)
    model = build_model(MODEL)
    dataset = _dataset(shapes, "val", TEST_PIPELINE, True)
    results = single_gpu_test(model, build_dataloader(dataset, 2, 0, shuffle=False))
    assert len(results) == 4
    for r in results:
        assert r["bboxes"].shape[1] == 4 and 0 < len(r["bboxes"]) <= 150
        assert bool((r["labels"] == 0).all())
        assert (r["bboxes"] >= 0).all() and (r["bboxes"] <= 64 + 1e-3).all()  # original 64-px image
    stats = dataset.evaluate(results, metric="proposal")
    for key in ("AR@100", "AR@300", "AR@1000"):
        assert 0.0 <= stats[key] <= 1.0
    assert stats["AR@100"] <= stats["AR@300"] <= stats["AR@1000"]
    # Dense anchors over a 64-px image recall some objects even untrained.
    assert stats["AR@1000"] > 0.0

    # Proposals equal to the ground truth: every object recalled at every IoU threshold.
    coco = json.loads((shapes / "annotations" / "instances_val.json").read_text())
    perfect = []
    for info in coco["images"]:
        boxes = [a["bbox"] for a in coco["annotations"] if a["image_id"] == info["id"]]
        xyxy = torch.tensor([[x, y, x + w, y + h] for x, y, w, h in boxes])
        perfect.append({"bboxes": xyxy, "scores": torch.ones(len(xyxy)), "labels": torch.zeros(len(xyxy), dtype=torch.long)})
    assert dataset.evaluate(perfect, metric="proposal")["AR@100"] == pytest.approx(1.0)
