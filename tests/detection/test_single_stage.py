"""Single-stage detectors: assembly from configs, train/val steps, inference dispatch."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from segdet.errors import ShapeMismatchError
from segdet.models.builder import build_model
from segdet.models.detectors.base import parse_losses

SIZE = 64
BACKBONE = {"type": "ResNet", "depth": 18, "base_channels": 8, "out_indices": (1, 2, 3), "norm_eval": False}
NECK = {"type": "FPN", "out_channels": 16, "start_level": 0, "add_extra_convs": "on_output", "num_outs": 5}
RETINA_TRAIN = {"assigner": {"type": "MaxIoUAssigner", "pos_iou_thr": 0.5, "neg_iou_thr": 0.4, "min_pos_iou": 0,
                             "ignore_iof_thr": -1}, "allowed_border": -1, "pos_weight": -1}
TEST_CFG = {"nms_pre": 100, "min_bbox_size": 0, "score_thr": 0.0, "nms": {"type": "nms", "iou_threshold": 0.5},
            "max_per_img": 10}


def _detector(kind: str = "RetinaNet", **head_kw) -> torch.nn.Module:
    heads = {
        "RetinaNet": {"type": "RetinaHead", "num_classes": 3, "feat_channels": 16, "stacked_convs": 1},
        "ATSS": {"type": "ATSSHead", "num_classes": 3, "feat_channels": 16, "stacked_convs": 1,
                 "norm_cfg": {"type": "GN", "num_groups": 4}},
        "FCOS": {"type": "FCOSHead", "num_classes": 3, "feat_channels": 16, "stacked_convs": 1,
                 "strides": [8, 16, 32, 64, 128], "norm_cfg": {"type": "GN", "num_groups": 4}},
    }
    train = {"RetinaNet": RETINA_TRAIN, "ATSS": {"assigner": {"type": "ATSSAssigner", "topk": 9}}, "FCOS": None}
    torch.manual_seed(0)
    return build_model({"type": kind, "backbone": BACKBONE, "neck": NECK, "bbox_head": {**heads[kind], **head_kw},
                        "train_cfg": train[kind], "test_cfg": TEST_CFG})


def _metas(n: int = 2, scale: float = 1.0, flip: bool = False) -> list[dict]:
    ori = (round(SIZE / scale), round(SIZE / scale), 3)
    return [{"img_shape": (SIZE, SIZE, 3), "pad_shape": (SIZE, SIZE, 3), "ori_shape": ori,
             "scale_factor": np.full(4, scale, np.float32), "flip": flip, "flip_direction": "horizontal"}
            for _ in range(n)]


def _batch(empty: bool = False) -> dict:
    img = torch.randn(2, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(1))
    if empty:
        boxes = [torch.zeros((0, 4)), torch.zeros((0, 4))]
        labels = [torch.zeros((0,), dtype=torch.long)] * 2
    else:
        boxes = [torch.tensor([[4.0, 6.0, 40.0, 44.0]]), torch.tensor([[20.0, 16.0, 60.0, 50.0]])]
        labels = [torch.tensor([1]), torch.tensor([2])]
    return {"img": img, "img_metas": _metas(), "gt_bboxes": boxes, "gt_labels": labels}


@pytest.mark.parametrize("kind", ["RetinaNet", "ATSS", "FCOS"])
def test_train_step_contract(kind):
    model = _detector(kind)
    out = model.train_step(_batch())
    assert set(out) == {"loss", "log_vars", "num_samples"}
    assert out["num_samples"] == 2
    assert torch.isfinite(out["loss"])
    parts = [v for k, v in out["log_vars"].items() if k != "loss"]
    assert out["log_vars"]["loss"] == pytest.approx(sum(parts), rel=1e-5)
    out["loss"].backward()
    assert model.backbone.conv1.weight.grad is not None


@pytest.mark.parametrize("kind", ["RetinaNet", "ATSS", "FCOS"])
def test_empty_ground_truth_training_step(kind):
    model = _detector(kind)
    out = model.train_step(_batch(empty=True))
    assert out["log_vars"]["loss_bbox"] == 0.0
    assert np.isfinite(out["log_vars"]["loss_cls"]) and out["log_vars"]["loss_cls"] > 0
    out["loss"].backward()


def test_train_step_ignores_keys_the_detector_does_not_use():
    model = _detector()
    batch = _batch()
    batch["gt_masks"] = [torch.zeros((1, SIZE, SIZE), dtype=torch.uint8)] * 2
    assert torch.isfinite(model.train_step(batch)["loss"])
    assert torch.isfinite(model.val_step(batch)["loss"])


def test_inference_without_detections_returns_empty_tensors():
    model = _detector()
    model.bbox_head.test_cfg = {**TEST_CFG, "score_thr": 1.0}
    model.eval()
    with torch.no_grad():
        results = model(img=[torch.randn(1, 3, SIZE, SIZE)], img_metas=[_metas(1)], return_loss=False)
    assert len(results) == 1
    r = results[0]
    assert r["bboxes"].shape == (0, 4) and r["scores"].shape == (0,) and r["labels"].shape == (0,)
    assert r["labels"].dtype == torch.long


def test_rescale_maps_boxes_back_to_original_image():
    model = _detector().eval()
    img = torch.randn(1, 3, SIZE, SIZE)
    with torch.no_grad():
        resized = model.simple_test(img, _metas(1, scale=0.5), rescale=False)[0]
        original = model.simple_test(img, _metas(1, scale=0.5), rescale=True)[0]
    assert resized["bboxes"].shape[0] > 0
    torch.testing.assert_close(original["bboxes"], resized["bboxes"] * 2.0)
    assert (original["bboxes"][:, 2:] <= SIZE * 2).all()


def test_aug_test_merges_flipped_views():
    model = _detector().eval()
    img = torch.randn(1, 3, SIZE, SIZE)
    with torch.no_grad():
        single = model.forward_test([img], [_metas(1)])[0]
        plain_twice = model.forward_test([img, img], [_metas(1), _metas(1)])[0]
        flipped = model.forward_test([img, img.flip(-1)], [_metas(1), _metas(1, flip=True)])[0]
    # Identical views merge into the single-view result (duplicates are suppressed by NMS).
    torch.testing.assert_close(plain_twice["bboxes"], single["bboxes"])
    # A flipped view is mapped back into the original frame before merging.
    assert flipped["bboxes"].shape[0] > 0
    assert (flipped["bboxes"] >= 0).all() and (flipped["bboxes"] <= SIZE).all()
    assert flipped["scores"].max() >= single["scores"].max()


def test_forward_test_checks_its_inputs():
    model = _detector().eval()
    with pytest.raises(ValueError, match="augmentations"):
        model.forward_test([torch.randn(1, 3, SIZE, SIZE)], [_metas(1), _metas(1)])


def test_channels_are_filled_from_upstream_and_checked():
    model = _detector()
    assert model.neck.in_channels == [16, 32, 64]
    assert model.bbox_head.in_channels == 16
    with pytest.raises(ShapeMismatchError, match="in_channels"):
        _detector(in_channels=32)
    with pytest.raises(ShapeMismatchError):
        build_model({"type": "RetinaNet", "backbone": BACKBONE, "neck": {**NECK, "in_channels": [8, 8, 8]},
                     "bbox_head": {"type": "RetinaHead", "num_classes": 3}})


def test_parse_losses_sums_loss_terms_only():
    loss, log_vars = parse_losses({"loss_a": torch.tensor(1.0), "loss_b": [torch.tensor(2.0), torch.tensor(3.0)],
                                   "acc": torch.tensor(50.0)})
    assert loss.item() == 6.0
    assert log_vars == {"loss_a": 1.0, "loss_b": 5.0, "acc": 50.0, "loss": 6.0}
