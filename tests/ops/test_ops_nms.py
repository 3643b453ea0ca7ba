"""NMS, batched NMS, soft NMS and multiclass NMS against hand-computed cases and brute force."""
from __future__ import annotations

import math

import pytest
import torch

from segdet.ops import batched_nms, multiclass_nms, nms, soft_nms

BOXES = torch.tensor(
    [[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 11.0, 11.0], [20.0, 20.0, 30.0, 30.0], [0.0, 0.0, 10.0, 5.0]]
)
SCORES = torch.tensor([0.9, 0.8, 0.7, 0.6])


def _iou(a: list[float], b: list[float]) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union


def _brute_nms(boxes: torch.Tensor, scores: torch.Tensor, thr: float) -> list[int]:
    order = sorted(range(len(scores)), key=lambda i: -float(scores[i]))
    keep: list[int] = []
    for i in order:
        if all(_iou(boxes[i].tolist(), boxes[k].tolist()) <= thr for k in keep):
            keep.append(i)
    return keep


def test_nms_hand_case():
    # IoU(0,1) = 81/119 = 0.68; IoU(0,3) = 50/100 = 0.5 (not > 0.5, so kept).
    assert nms(BOXES, SCORES, 0.5).tolist() == [0, 2, 3]
    assert nms(BOXES, SCORES, 0.4).tolist() == [0, 2]
    assert nms(BOXES, SCORES, 0.7).tolist() == [0, 1, 2, 3]


def test_nms_empty():
    keep = nms(torch.zeros((0, 4)), torch.zeros((0,)), 0.5)
    assert keep.shape == (0,) and keep.dtype == torch.long


@pytest.mark.parametrize("seed", range(5))
def test_nms_matches_brute_force(seed):
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(40, 2, generator=g) * 50
    wh = torch.rand(40, 2, generator=g) * 20 + 1
    boxes = torch.cat([xy, xy + wh], 1)
    scores = torch.rand(40, generator=g)
    assert nms(boxes, scores, 0.3).tolist() == _brute_nms(boxes, scores, 0.3)


@pytest.mark.parametrize("seed", range(3))
def test_batched_nms_matches_per_class_brute_force(seed):
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(30, 2, generator=g) * 40
    boxes = torch.cat([xy, xy + torch.rand(30, 2, generator=g) * 20 + 1], 1)
    scores = torch.rand(30, generator=g)
    idxs = torch.randint(0, 3, (30,), generator=g)
    dets, keep = batched_nms(boxes, scores, idxs, dict(type="nms", iou_threshold=0.4))
    expected = []
    for c in range(3):
        members = (idxs == c).nonzero().view(-1)
        expected += [int(members[k]) for k in _brute_nms(boxes[members], scores[members], 0.4)]
    assert sorted(keep.tolist()) == sorted(expected)
    assert torch.all(dets[:-1, 4] >= dets[1:, 4])
    assert torch.equal(dets[:, :4], boxes[keep]) and torch.equal(dets[:, 4], scores[keep])


def test_batched_nms_classes_do_not_suppress_each_other():
    idxs = torch.tensor([0, 1, 0, 0])
    dets, keep = batched_nms(BOXES, SCORES, idxs, dict(type="nms", iou_threshold=0.5))
    assert keep.tolist() == [0, 1, 2, 3]
    assert dets.shape == (4, 5)
    _, keep = batched_nms(BOXES, SCORES, idxs, dict(type="nms", iou_threshold=0.5), class_agnostic=True)
    assert keep.tolist() == [0, 2, 3]
    _, keep = batched_nms(BOXES, SCORES, idxs, dict(type="nms", iou_threshold=0.5, class_agnostic=True))
    assert keep.tolist() == [0, 2, 3]
    _, keep = batched_nms(BOXES, SCORES, idxs, dict(type="nms", iou_threshold=0.5, max_num=2))
    assert keep.tolist() == [0, 1]


def test_batched_nms_empty_and_none_cfg():
    dets, keep = batched_nms(torch.zeros((0, 4)), torch.zeros((0,)), torch.zeros((0,), dtype=torch.long),
                             dict(type="nms", iou_threshold=0.5))
    assert dets.shape == (0, 5) and keep.shape == (0,)
    dets, keep = batched_nms(BOXES, SCORES.flip(0), torch.zeros(4, dtype=torch.long), None)
    assert keep.tolist() == [3, 2, 1, 0]


def test_batched_nms_rejects_unknown_keys():
    with pytest.raises(TypeError, match="iou_thr"):
        batched_nms(BOXES, SCORES, torch.zeros(4, dtype=torch.long), dict(type="nms", iou_thr=0.5))
    with pytest.raises(ValueError, match="soft_nms"):
        batched_nms(BOXES, SCORES, torch.zeros(4, dtype=torch.long), dict(type="hard"))


def test_soft_nms_linear_by_hand():
    dets, keep = soft_nms(BOXES, SCORES, iou_threshold=0.3, method="linear")
    # Step 1 keeps box 0 (0.9); box 1 decays to 0.8 * (1 - 81/119), box 3 to 0.6 * (1 - 0.5) = 0.3.
    s1 = 0.8 * (1 - 81 / 119)
    # Step 2 keeps box 2 (0.7, no overlap); step 3 keeps box 3 (0.3 > s1 = 0.2555);
    # IoU(3, 1) = 36 / 114 >= 0.3, so box 1 decays again.
    s1b = s1 * (1 - 36 / 114)
    assert keep.tolist() == [0, 2, 3, 1]
    assert torch.allclose(dets[:, 4], torch.tensor([0.9, 0.7, 0.3, s1b]), atol=1e-6)


def test_soft_nms_gaussian_and_naive():
    dets, keep = soft_nms(BOXES[:2], SCORES[:2], sigma=0.5, method="gaussian")
    iou = 81 / 119
    assert keep.tolist() == [0, 1]
    assert dets[1, 4].item() == pytest.approx(0.8 * math.exp(-iou * iou / 0.5), rel=1e-5)
    _, keep = soft_nms(BOXES, SCORES, iou_threshold=0.5, method="naive")
    # naive drops every box with IoU >= thr (note >=: box 3 with IoU 0.5 is dropped).
    assert keep.tolist() == [0, 2]


def test_soft_nms_min_score_and_batched():
    _, keep = soft_nms(BOXES, SCORES, iou_threshold=0.3, min_score=0.26)
    assert keep.tolist() == [0, 2, 3]
    dets, keep = batched_nms(BOXES, SCORES, torch.tensor([0, 1, 0, 0]),
                             dict(type="soft_nms", iou_threshold=0.3, min_score=0.01))
    assert keep.tolist() == [0, 1, 2, 3]
    assert dets[:, 4].tolist() == pytest.approx([0.9, 0.8, 0.7, 0.3])


def test_multiclass_nms_shared_boxes():
    scores = torch.tensor([[0.9, 0.05], [0.8, 0.6], [0.01, 0.7], [0.3, 0.02]])
    dets, labels = multiclass_nms(BOXES, scores, 0.1, dict(type="nms", iou_threshold=0.5))
    # class 0: boxes 0 (0.9), 1 (0.8, suppressed by 0), 3 (0.3, IoU 0.5 kept); class 1: 2 (0.7), 1 (0.6)
    assert dets[:, 4].tolist() == pytest.approx([0.9, 0.7, 0.6, 0.3])
    assert labels.tolist() == [0, 1, 1, 0]
    dets, labels, inds = multiclass_nms(BOXES, scores, 0.1, dict(type="nms", iou_threshold=0.5),
                                        max_num=2, return_inds=True)
    assert labels.tolist() == [0, 1] and inds.tolist() == [0, 5]


def test_multiclass_nms_score_factors_and_per_class_boxes():
    scores = torch.tensor([[0.9, 0.05], [0.2, 0.6]])
    # row 0: class 0 -> box 0, class 1 -> box 2; row 1: class 0 -> box 1, class 1 -> box 3
    per_class = torch.cat([BOXES[:2], BOXES[2:4]], 1)  # (2, 8)
    dets, labels = multiclass_nms(per_class, scores, 0.1, dict(type="nms", iou_threshold=0.5),
                                  score_factors=torch.tensor([0.5, 1.0]))
    # class 0: box 0 (0.9*0.5) suppresses box 1 (0.2); class 1: box 3 (0.6); (0, 1) is below 0.1
    assert dets[:, 4].tolist() == pytest.approx([0.6, 0.45])
    assert labels.tolist() == [1, 0]
    assert torch.equal(dets[0, :4], BOXES[3])


def test_multiclass_nms_nothing_above_threshold():
    dets, labels = multiclass_nms(BOXES, torch.full((4, 3), 0.01), 0.05, dict(type="nms", iou_threshold=0.5))
    assert dets.shape == (0, 5) and labels.shape == (0,)
    with pytest.raises(ValueError, match="C\\*4"):
        multiclass_nms(torch.zeros(4, 12), torch.zeros(4, 2), 0.05, dict(type="nms"))


def test_soft_nms_split_per_class_matches_joint():
    g = torch.Generator().manual_seed(0)
    xy = torch.rand(30, 2, generator=g) * 40
    boxes = torch.cat([xy, xy + torch.rand(30, 2, generator=g) * 20 + 1], 1)
    scores = torch.rand(30, generator=g)
    idxs = torch.randint(0, 3, (30,), generator=g)
    cfg = dict(type="soft_nms", iou_threshold=0.3, method="gaussian", min_score=0.05)
    joint_dets, joint_keep = batched_nms(boxes, scores, idxs, cfg)
    split_dets, split_keep = batched_nms(boxes, scores, idxs, dict(cfg, split_thr=2))
    assert sorted(joint_keep.tolist()) == sorted(split_keep.tolist())
    assert torch.allclose(joint_dets[:, 4], split_dets[:, 4], atol=1e-6)
    assert torch.all(split_dets[:-1, 4] >= split_dets[1:, 4])


def test_batched_nms_negative_coordinates_keep_classes_apart():
    boxes = torch.tensor([[-50.0, -50.0, -10.0, -10.0], [-50.0, -50.0, -10.0, -10.0]])
    scores = torch.tensor([0.9, 0.8])
    for nms_type in ("nms", "soft_nms"):
        dets, keep = batched_nms(boxes, scores, torch.tensor([0, 1]), dict(type=nms_type, iou_threshold=0.3))
        assert keep.tolist() == [0, 1]
        assert dets[:, 4].tolist() == pytest.approx([0.9, 0.8])


@pytest.mark.parametrize("nms_type", ["nms", "soft_nms"])
def test_batched_nms_split_thr_path_matches(nms_type):
    g = torch.Generator().manual_seed(1)
    xy = torch.rand(40, 2, generator=g) * 40
    boxes = torch.cat([xy, xy + torch.rand(40, 2, generator=g) * 20 + 1], 1)
    scores = torch.rand(40, generator=g)
    idxs = torch.randint(0, 4, (40,), generator=g)
    cfg = dict(type=nms_type, iou_threshold=0.4)
    d1, k1 = batched_nms(boxes, scores, idxs, cfg)
    d2, k2 = batched_nms(boxes, scores, idxs, dict(cfg, split_thr=1, max_num=5))
    assert k2.tolist() == k1[:5].tolist() and torch.allclose(d1[:5], d2)


def test_nms_half_precision_inputs():
    keep = nms(BOXES.half(), SCORES.float(), 0.5)
    assert keep.tolist() == [0, 2, 3]
