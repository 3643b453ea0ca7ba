"""Dense heads at tiny width: output shapes, finite losses, gradients, empty targets, inference."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from segdet.models.dense_heads import bbox_mapping_back, empty_result, rescale_and_clip
from segdet.registry import build

NUM_CLASSES = 3
SIZE = 64
STRIDES = [8, 16, 32, 64, 128]
GN4 = {"type": "GN", "num_groups": 4}
TEST_ALL = {"nms_pre": 50, "min_bbox_size": 0, "score_thr": 0.0, "nms": {"type": "nms", "iou_threshold": 0.5},
            "max_per_img": 20}

HEADS = {
    "RetinaHead": {
        "type": "RetinaHead", "num_classes": NUM_CLASSES, "in_channels": 8, "feat_channels": 8, "stacked_convs": 2,
        "train_cfg": {"assigner": {"type": "MaxIoUAssigner", "pos_iou_thr": 0.5, "neg_iou_thr": 0.4,
                                   "min_pos_iou": 0, "ignore_iof_thr": -1},
                      "allowed_border": -1, "pos_weight": -1},
    },
    "ATSSHead": {
        "type": "ATSSHead", "num_classes": NUM_CLASSES, "in_channels": 8, "feat_channels": 8, "stacked_convs": 2,
        "norm_cfg": GN4,
        "train_cfg": {"assigner": {"type": "ATSSAssigner", "topk": 9}, "allowed_border": -1, "pos_weight": -1},
    },
    "FCOSHead": {
        "type": "FCOSHead", "num_classes": NUM_CLASSES, "in_channels": 8, "feat_channels": 8, "stacked_convs": 2,
        "strides": STRIDES, "norm_cfg": GN4,
    },
}


def _metas(n: int = 2, scale: float = 1.0) -> list[dict]:
    ori = (int(SIZE / scale), int(SIZE / scale), 3)
    return [{"img_shape": (SIZE, SIZE, 3), "pad_shape": (SIZE, SIZE, 3), "ori_shape": ori,
             "scale_factor": np.full(4, scale, np.float32), "flip": False} for _ in range(n)]


def _feats(channels: int = 8, batch: int = 2) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    return [torch.randn(batch, channels, max(SIZE // s, 1), max(SIZE // s, 1), generator=gen) for s in STRIDES]


def _gts() -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    return ([torch.tensor([[4.0, 6.0, 40.0, 44.0], [30.0, 20.0, 62.0, 60.0]]),
             torch.tensor([[10.0, 10.0, 30.0, 34.0]])],
            [torch.tensor([0, 2]), torch.tensor([1])])


def _empty_gts(n: int = 2) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    return [torch.zeros((0, 4)) for _ in range(n)], [torch.zeros((0,), dtype=torch.long) for _ in range(n)]


@pytest.fixture(params=sorted(HEADS))
def head(request):
    torch.manual_seed(0)
    return build(dict(HEADS[request.param]), "heads")


def test_output_shapes(head):
    outs = head(_feats())
    assert len(outs[0]) == len(STRIDES)
    a = head.prior_generator.num_base_priors[0]
    for lvl, s in enumerate(STRIDES):
        hw = max(SIZE // s, 1)
        assert outs[0][lvl].shape == (2, a * NUM_CLASSES, hw, hw)
        assert outs[1][lvl].shape == (2, a * 4, hw, hw)
        if len(outs) == 3:  # centerness
            assert outs[2][lvl].shape == (2, a, hw, hw)


def test_loss_finite_and_gradients_flow(head):
    feats = [f.requires_grad_() for f in _feats()]
    gt_bboxes, gt_labels = _gts()
    losses = head.forward_train(feats, _metas(), gt_bboxes, gt_labels)
    for name, value in losses.items():
        assert torch.isfinite(value), name
        assert value.item() > 0, name
    sum(losses.values()).backward()
    for name, p in head.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    assert any(f.grad.abs().sum() > 0 for f in feats)


def test_empty_ground_truth_gives_zero_box_loss(head):
    gt_bboxes, gt_labels = _empty_gts()
    losses = head.forward_train(_feats(), _metas(), gt_bboxes, gt_labels)
    assert torch.isfinite(losses["loss_cls"]) and losses["loss_cls"].item() > 0
    for name, value in losses.items():
        if name != "loss_cls":
            assert value.item() == 0.0, name
    sum(losses.values()).backward()  # still connected to the graph


def test_no_detections_gives_empty_tensors(head):
    head.eval()
    with torch.no_grad():
        results = head.get_bboxes(*head(_feats()), img_metas=_metas(), cfg={**TEST_ALL, "score_thr": 1.0})
    for r in results:
        assert r["bboxes"].shape == (0, 4)
        assert r["scores"].shape == (0,)
        assert r["labels"].shape == (0,) and r["labels"].dtype == torch.long


def test_predictions_respect_test_cfg(head):
    head.eval()
    with torch.no_grad():
        results = head.get_bboxes(*head(_feats()), img_metas=_metas(), cfg=TEST_ALL)
    for r in results:
        n = r["bboxes"].shape[0]
        assert 0 < n <= TEST_ALL["max_per_img"]
        assert r["scores"].shape == (n,) and r["labels"].shape == (n,)
        assert (r["scores"][:-1] >= r["scores"][1:]).all()
        assert ((r["labels"] >= 0) & (r["labels"] < NUM_CLASSES)).all()
        assert (r["bboxes"] >= 0).all() and (r["bboxes"] <= SIZE).all()


def test_rescale_maps_boxes_to_original_image(head):
    head.eval()
    feats = _feats()
    with torch.no_grad():
        resized = head.get_bboxes(*head(feats), img_metas=_metas(scale=2.0), cfg=TEST_ALL, rescale=False)
        original = head.get_bboxes(*head(feats), img_metas=_metas(scale=2.0), cfg=TEST_ALL, rescale=True)
    for r, o in zip(resized, original):
        torch.testing.assert_close(o["bboxes"], r["bboxes"] / 2.0)
        torch.testing.assert_close(o["scores"], r["scores"])
        assert (o["bboxes"] <= SIZE / 2.0).all()


def test_aug_test_of_identical_views_equals_simple_test(head):
    head.eval()
    feats = _feats()
    cfg = dict(TEST_ALL)
    head.test_cfg = cfg
    with torch.no_grad():
        single = head.simple_test(feats, _metas(), rescale=True)
        merged = head.aug_test([feats, feats], [_metas(), _metas()], rescale=True)
    for s, m in zip(single, merged):
        torch.testing.assert_close(m["bboxes"], s["bboxes"])
        torch.testing.assert_close(m["scores"], s["scores"])
        assert torch.equal(m["labels"], s["labels"])


def test_bbox_mapping_back_unflips_and_unscales():
    meta = {"img_shape": (50, 100, 3), "scale_factor": np.array([2.0, 2.0, 2.0, 2.0], np.float32),
            "flip": True, "flip_direction": "horizontal"}
    boxes = torch.tensor([[10.0, 5.0, 30.0, 25.0]])
    torch.testing.assert_close(bbox_mapping_back(boxes, meta), torch.tensor([[35.0, 2.5, 45.0, 12.5]]))
    meta["flip_direction"] = "vertical"
    torch.testing.assert_close(bbox_mapping_back(boxes, meta), torch.tensor([[5.0, 12.5, 15.0, 22.5]]))


def test_rescale_and_clip():
    meta = {"scale_factor": np.array([2.0, 4.0, 2.0, 4.0], np.float32), "ori_shape": (10, 20, 3)}
    out = rescale_and_clip(torch.tensor([[4.0, 8.0, 60.0, 80.0]]), meta)
    torch.testing.assert_close(out, torch.tensor([[2.0, 2.0, 20.0, 10.0]]))
    assert empty_result("cpu")["bboxes"].shape == (0, 4)


def test_retina_targets_hand_computed():
    """One gt that exactly equals one anchor: that anchor is positive with zero deltas."""
    head = build(dict(HEADS["RetinaHead"]), "heads")
    feats = _feats()
    sizes = [tuple(f.shape[-2:]) for f in feats]
    anchors = torch.cat(head.prior_generator.grid_priors(sizes))
    gt = anchors[100:101].clone()
    t = head.get_targets(anchors, [len(a) for a in head.prior_generator.grid_priors(sizes)], sizes,
                         [gt], [torch.tensor([2])], _metas(1))
    assert t.labels[0, 100].item() == 2
    assert t.bbox_weights[0, 100].sum().item() == 4
    torch.testing.assert_close(t.bbox_targets[0, 100], torch.zeros(4))
    assert t.num_pos[0] >= 1
    assert int((t.labels[0] < NUM_CLASSES).sum()) == t.num_pos[0]
    assert (t.label_weights[0] >= 0).all()


def test_fcos_targets_follow_regress_ranges():
    head = build(dict(HEADS["FCOSHead"], regress_ranges=((-1, 16), (16, 32), (32, 64), (64, 128), (128, 1e8))),
                 "heads")
    sizes = [(max(SIZE // s, 1),) * 2 for s in STRIDES]
    points = head.prior_generator.grid_priors(sizes)
    labels, targets = head.get_targets(points, [torch.tensor([[0.0, 0.0, 24.0, 24.0]])], [torch.tensor([1])])
    # Point (4, 4) of level 0 lies in the box; its largest distance (20) exceeds level 0's range.
    assert labels[0, 0].item() == NUM_CLASSES
    # The first point of level 1 (stride 16) sits at (8, 8): distances 8, 8, 16, 16 -> max 16 in [16, 32].
    lvl1 = len(points[0])
    assert labels[0, lvl1].item() == 1
    torch.testing.assert_close(targets[0, lvl1], torch.tensor([8.0, 8.0, 16.0, 16.0]))


def test_fcos_refuses_dcn():
    with pytest.raises(ValueError, match="dcn_on_last_conv"):
        build(dict(HEADS["FCOSHead"], dcn_on_last_conv=True), "heads")


def test_sampling_head_uses_the_configured_sampler():
    """With a non-focal loss the head samples (as MMDetection's RPN-style heads do)."""
    cfg = dict(HEADS["RetinaHead"])
    cfg["loss_cls"] = {"type": "CrossEntropyLoss", "use_sigmoid": True, "loss_weight": 1.0}
    cfg["train_cfg"] = {**cfg["train_cfg"], "sampler": {"type": "RandomSampler", "num": 32, "pos_fraction": 0.5,
                                                        "neg_pos_ub": -1, "add_gt_as_proposals": False}}
    head = build(cfg, "heads")
    assert head.sampling and type(head.sampler).__name__ == "RandomSampler"
    gt_bboxes, gt_labels = _gts()
    feats = _feats()
    sizes = [tuple(f.shape[-2:]) for f in feats]
    mlvl = head.prior_generator.grid_priors(sizes)
    t = head.get_targets(torch.cat(mlvl), [len(a) for a in mlvl], sizes, gt_bboxes, gt_labels, _metas())
    assert all(p + n <= 32 for p, n in zip(t.num_pos, t.num_neg))
    assert int((t.label_weights > 0).sum()) == sum(t.num_pos) + sum(t.num_neg)
    losses = head.forward_train(feats, _metas(), gt_bboxes, gt_labels)
    assert all(torch.isfinite(v) for v in losses.values())


def test_sigmoid_candidates_match_threshold_then_topk():
    """The per-level candidates (top-k on the logits where they lie) are the pairs and order of
    MMDetection's path: sigmoid every score, threshold, top nms_pre (scores within 1 ulp)."""
    from segdet.models.dense_heads.dense_head_base import DenseHeadBase, _gather_priors

    class _Head:
        cls_out_channels = 5
        _sigmoid_candidates = DenseHeadBase._sigmoid_candidates

    gen = torch.Generator().manual_seed(0)
    for _ in range(60):
        h, w = torch.randint(1, 9, (2,), generator=gen).tolist()
        cls = torch.randn(3 * 5, h, w, generator=gen) * 2
        reg = torch.randn(3 * 4, h, w, generator=gen)
        nms_pre, thr = int(torch.randint(-1, 60, (1,), generator=gen)), float(torch.rand(1, generator=gen) * 0.9)
        scores = cls.permute(1, 2, 0).reshape(-1, 5).sigmoid()
        valid = scores > thr
        cand, idxs = scores[valid], valid.nonzero()
        if 0 < nms_pre < cand.numel():
            cand, top = cand.topk(nms_pre)
            idxs = idxs[top]
        prior, label, score = _Head()._sigmoid_candidates(cls, nms_pre, thr)
        assert torch.equal(prior, idxs[:, 0]) and torch.equal(label, idxs[:, 1])
        torch.testing.assert_close(score, cand, rtol=2e-7, atol=0)
        assert torch.equal(_gather_priors(reg, prior, 4), reg.permute(1, 2, 0).reshape(-1, 4)[prior])
