"""MaxIoUAssigner and ATSSAssigner on small hand-computed cases."""
from __future__ import annotations

import statistics

import pytest
import torch

from segdet.models.task_modules import ATSSAssigner, MaxIoUAssigner
from segdet.registry import build

# IoU(G0, P0) = 90/100 = 0.9, IoU(G0, P2) = 20/170, IoU(G1, P2) = 25/165; every other pair 0.
PRIORS = torch.tensor(
    [[0.0, 0.0, 10.0, 10.0], [10.0, 10.0, 20.0, 20.0], [5.0, 5.0, 15.0, 15.0], [32.0, 32.0, 38.0, 42.0]]
)
GTS = torch.tensor([[0.0, 0.0, 10.0, 9.0], [0.0, 10.0, 10.0, 19.0]])
LABELS = torch.tensor([2, 3])


def test_max_iou_basic_and_low_quality():
    r = MaxIoUAssigner(pos_iou_thr=0.5, neg_iou_thr=0.4).assign(PRIORS, GTS, LABELS)
    # P0 positive for G0; P2 is below 0.4 but is the best prior of G1 (low-quality match)
    assert r.gt_inds.tolist() == [1, 0, 2, 0]
    assert r.labels.tolist() == [2, -1, 3, -1]
    assert r.max_overlaps.tolist() == pytest.approx([0.9, 0.0, 25 / 165, 0.0])
    assert r.num_gts == 2
    r = MaxIoUAssigner(pos_iou_thr=0.5, neg_iou_thr=0.4, min_pos_iou=0.2).assign(PRIORS, GTS, LABELS)
    assert r.gt_inds.tolist() == [1, 0, 0, 0]
    r = MaxIoUAssigner(pos_iou_thr=0.5, neg_iou_thr=0.4, match_low_quality=False).assign(PRIORS, GTS)
    assert r.gt_inds.tolist() == [1, 0, 0, 0] and r.labels is None


def test_max_iou_neg_range():
    a = MaxIoUAssigner(pos_iou_thr=0.5, neg_iou_thr=(0.05, 0.4), match_low_quality=False)
    assert a.assign(PRIORS, GTS, LABELS).gt_inds.tolist() == [1, -1, 0, -1]
    a = build(dict(type="MaxIoUAssigner", pos_iou_thr=0.5, neg_iou_thr=[0.05, 0.4]), "task_modules")
    assert a.assign(PRIORS, GTS, LABELS).gt_inds.tolist() == [1, -1, 2, -1]


def test_max_iou_ignore():
    ignore = torch.tensor([[30.0, 30.0, 40.0, 40.0]])
    # IoF of P3 over its own area: 6*8 / 60 = 0.8
    a = MaxIoUAssigner(pos_iou_thr=0.5, neg_iou_thr=0.4, ignore_iof_thr=0.5)
    assert a.assign(PRIORS, GTS, LABELS, gt_bboxes_ignore=ignore).gt_inds.tolist() == [1, 0, 2, -1]
    # IoF over the ignored box's area: 48 / 100 < 0.5, so P3 stays negative
    a = MaxIoUAssigner(pos_iou_thr=0.5, neg_iou_thr=0.4, ignore_iof_thr=0.5, ignore_wrt_candidates=False)
    assert a.assign(PRIORS, GTS, LABELS, gt_bboxes_ignore=ignore).gt_inds.tolist() == [1, 0, 2, 0]


def test_max_iou_ties_and_gpu_assign_thr():
    priors = torch.tensor([[0.0, 0.0, 10.0, 10.0], [20.0, 0.0, 30.0, 10.0]])
    gt = torch.tensor([[5.0, 0.0, 25.0, 10.0]])  # IoU 50/250 with both
    r = MaxIoUAssigner(pos_iou_thr=0.5, neg_iou_thr=0.4).assign(priors, gt, torch.tensor([0]))
    assert r.gt_inds.tolist() == [1, 1]
    r = MaxIoUAssigner(pos_iou_thr=0.5, neg_iou_thr=0.4, gt_max_assign_all=False).assign(priors, gt)
    assert r.gt_inds.tolist() == [1, 0]
    r = MaxIoUAssigner(pos_iou_thr=0.5, neg_iou_thr=0.4, gpu_assign_thr=0).assign(PRIORS, GTS, LABELS)
    assert r.gt_inds.tolist() == [1, 0, 2, 0]


def test_max_iou_empty_gt_and_empty_priors():
    a = MaxIoUAssigner(pos_iou_thr=0.5, neg_iou_thr=0.4)
    r = a.assign(PRIORS, torch.zeros((0, 4)), torch.zeros((0,), dtype=torch.long))
    assert r.gt_inds.tolist() == [0, 0, 0, 0] and r.labels.tolist() == [-1] * 4
    assert r.max_overlaps.tolist() == [0.0] * 4 and r.num_gts == 0
    r = a.assign(PRIORS[:0], GTS, LABELS)
    assert r.gt_inds.shape == (0,) and r.labels.shape == (0,) and r.max_overlaps.shape == (0,)


# ATSS: level 0 holds four 10x10 cells, level 1 two 20x20 cells.
LEVEL_PRIORS = torch.tensor(
    [
        [0.0, 0.0, 10.0, 10.0],  # A0 centre (5, 5)
        [10.0, 0.0, 20.0, 10.0],  # A1 centre (15, 5)
        [0.0, 10.0, 10.0, 20.0],  # A2 centre (5, 15)
        [10.0, 10.0, 20.0, 20.0],  # A3 centre (15, 15)
        [0.0, 0.0, 20.0, 20.0],  # B0 centre (10, 10)
        [20.0, 0.0, 40.0, 20.0],  # B1 centre (30, 10)
    ]
)
NUM_LEVEL = [4, 2]


def test_atss_single_gt_by_hand():
    gt = torch.tensor([[0.0, 0.0, 14.0, 12.0]])  # centre (7, 6), area 168
    # topk=2 closest per level: A0 (2.24), A1 (8.06); B0 (5.0), B1 (23.3)
    ious = [100 / 168, 40 / 228, 168 / 400, 0.0]
    thr = statistics.mean(ious) + statistics.stdev(ious)  # 0.298 + 0.263
    assert ious[0] >= thr > ious[2]
    r = ATSSAssigner(topk=2).assign(LEVEL_PRIORS, NUM_LEVEL, gt, torch.tensor([5]))
    assert r.gt_inds.tolist() == [1, 0, 0, 0, 0, 0]
    assert r.labels.tolist() == [5, -1, -1, -1, -1, -1]
    assert r.max_overlaps[0].item() == pytest.approx(100 / 168)


def test_atss_highest_iou_wins_and_center_inside():
    gts = torch.tensor([[0.0, 0.0, 14.0, 12.0], [0.0, 0.0, 10.0, 11.0]])
    # A0 is positive for both: IoU 100/168 with gt 0 and 100/110 with gt 1
    r = ATSSAssigner(topk=2).assign(LEVEL_PRIORS, NUM_LEVEL, gts, torch.tensor([0, 1]))
    assert r.gt_inds.tolist() == [2, 0, 0, 0, 0, 0]
    assert r.labels.tolist() == [1, -1, -1, -1, -1, -1]
    # A0 has the best IoU with a 4x4 box in the corner, but its centre (5, 5) is outside
    r = ATSSAssigner(topk=2).assign(LEVEL_PRIORS, NUM_LEVEL, torch.tensor([[0.0, 0.0, 4.0, 4.0]]))
    assert r.gt_inds.tolist() == [0] * 6 and r.labels is None


def test_atss_ignore_and_empty():
    gt = torch.tensor([[0.0, 0.0, 14.0, 12.0]])
    ignore = torch.tensor([[20.0, 0.0, 40.0, 20.0]])
    r = ATSSAssigner(topk=2, ignore_iof_thr=0.5).assign(LEVEL_PRIORS, NUM_LEVEL, gt, None, ignore)
    assert r.gt_inds.tolist() == [1, 0, 0, 0, 0, -1]
    r = ATSSAssigner().assign(LEVEL_PRIORS, NUM_LEVEL, gt[:0], torch.zeros(0, dtype=torch.long))
    assert r.gt_inds.tolist() == [0] * 6 and r.labels.tolist() == [-1] * 6
    with pytest.raises(ValueError, match="num_level_priors"):
        ATSSAssigner().assign(LEVEL_PRIORS, [4, 4], gt)


def test_atss_alpha_needs_predictions():
    gt = torch.tensor([[0.0, 0.0, 14.0, 12.0]])
    a = ATSSAssigner(topk=2, alpha=0.8)
    with pytest.raises(ValueError, match="cls_scores"):
        a.assign(LEVEL_PRIORS, NUM_LEVEL, gt, torch.tensor([0]))
    r = a.assign(LEVEL_PRIORS, NUM_LEVEL, gt, torch.tensor([0]),
                 cls_scores=torch.zeros(6, 2), bbox_preds=LEVEL_PRIORS)
    assert r.gt_inds.tolist() == [1, 0, 0, 0, 0, 0]


def test_assigners_reject_boxes_as_labels():
    with pytest.raises(TypeError, match="argument order"):
        MaxIoUAssigner(pos_iou_thr=0.5, neg_iou_thr=0.4).assign(PRIORS, GTS, GTS)
    with pytest.raises(TypeError, match="argument order"):
        ATSSAssigner().assign(LEVEL_PRIORS, NUM_LEVEL, GTS, GTS)


def _py_iou(a: list[float], b: list[float]) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    return inter / max((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter, 1e-6)


def _py_atss(priors: list[list[float]], levels: list[int], gts: list[list[float]], topk: int) -> list[int]:
    """Plain-Python ATSS, straight from the paper's algorithm."""
    ctr = [((p[0] + p[2]) / 2, (p[1] + p[3]) / 2) for p in priors]
    best: list[tuple[float, int]] = [(-1.0, 0)] * len(priors)
    for j, g in enumerate(gts):
        gc = ((g[0] + g[2]) / 2, (g[1] + g[3]) / 2)
        cands: list[int] = []
        start = 0
        for n in levels:
            idx = list(range(start, start + n))
            idx.sort(key=lambda i: (ctr[i][0] - gc[0]) ** 2 + (ctr[i][1] - gc[1]) ** 2)
            cands += idx[: min(topk, n)]
            start += n
        ious = [_py_iou(priors[i], g) for i in cands]
        thr = statistics.mean(ious) + statistics.stdev(ious)
        for i, iou in zip(cands, ious):
            cx, cy = ctr[i]
            inside = min(cx - g[0], cy - g[1], g[2] - cx, g[3] - cy) > 0.01
            if iou >= thr and inside and iou > best[i][0]:
                best[i] = (iou, j + 1)
    return [b[1] for b in best]


@pytest.mark.parametrize("seed", range(4))
def test_atss_matches_plain_python(seed):
    g = torch.Generator().manual_seed(seed)
    levels = [30, 12, 5]
    sizes = torch.cat([torch.full((n,), s) for n, s in zip(levels, (8.0, 16.0, 32.0))])
    ctr = torch.rand(sum(levels), 2, generator=g) * 64
    priors = torch.cat([ctr - sizes[:, None] / 2, ctr + sizes[:, None] / 2], 1)
    xy = torch.rand(3, 2, generator=g) * 40
    gts = torch.cat([xy, xy + torch.rand(3, 2, generator=g) * 30 + 8], 1)
    r = ATSSAssigner(topk=4).assign(priors, levels, gts, torch.tensor([0, 1, 2]))
    assert r.gt_inds.tolist() == _py_atss(priors.tolist(), levels, gts.tolist(), topk=4)
    assert (r.gt_inds > 0).any()


def _py_max_iou(priors: list[list[float]], gts: list[list[float]], pos: float, neg: float) -> list[int]:
    """Plain-Python MaxIoUAssigner with low-quality matches (min_pos_iou 0, all ties)."""
    ious = [[_py_iou(g, p) for p in priors] for g in gts]
    out = []
    for i in range(len(priors)):
        col = [ious[j][i] for j in range(len(gts))]
        m = max(col)
        out.append(col.index(m) + 1 if m >= pos else (0 if m < neg else -1))
    for j in range(len(gts)):
        m = max(ious[j])
        for i in range(len(priors)):
            if ious[j][i] == m:
                out[i] = j + 1
    return out


@pytest.mark.parametrize("seed", range(4))
def test_max_iou_matches_plain_python(seed):
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(50, 2, generator=g) * 60
    priors = torch.cat([xy, xy + torch.rand(50, 2, generator=g) * 20 + 4], 1)
    xy = torch.rand(4, 2, generator=g) * 50
    gts = torch.cat([xy, xy + torch.rand(4, 2, generator=g) * 25 + 5], 1)
    r = MaxIoUAssigner(pos_iou_thr=0.5, neg_iou_thr=0.3).assign(priors, gts, torch.arange(4))
    assert r.gt_inds.tolist() == _py_max_iou(priors.tolist(), gts.tolist(), 0.5, 0.3)


def _low_quality_by_loop(assigner, overlaps):
    """MMDetection's sequential low-quality matching, the reference of the vectorised one."""
    gt_inds = overlaps.new_full((overlaps.shape[1],), -1, dtype=torch.long)
    max_overlaps, argmax_overlaps = overlaps.max(dim=0)
    gt_max_overlaps, gt_argmax_overlaps = overlaps.max(dim=1)
    gt_inds[(max_overlaps >= 0) & (max_overlaps < assigner.neg_iou_thr)] = 0
    pos = max_overlaps >= assigner.pos_iou_thr
    gt_inds[pos] = argmax_overlaps[pos] + 1
    for i in range(overlaps.shape[0]):
        if gt_max_overlaps[i] >= assigner.min_pos_iou:
            if assigner.gt_max_assign_all:
                gt_inds[overlaps[i, :] == gt_max_overlaps[i]] = i + 1
            else:
                gt_inds[gt_argmax_overlaps[i]] = i + 1
    return gt_inds


@pytest.mark.parametrize("assign_all", [True, False])
@pytest.mark.parametrize("min_pos_iou", [0.0, 0.3])
def test_max_iou_low_quality_matches_the_sequential_loop(assign_all, min_pos_iou):
    """Ties everywhere: the later ground truth wins a prior several of them claim."""
    gen = torch.Generator().manual_seed(0)
    assigner = MaxIoUAssigner(0.5, 0.4, min_pos_iou=min_pos_iou, gt_max_assign_all=assign_all)
    for trial in range(100):
        m, n = int(torch.randint(1, 8, (1,), generator=gen)), int(torch.randint(1, 40, (1,), generator=gen))
        overlaps = torch.randint(0, 6, (m, n), generator=gen).float() / 10
        if trial % 3 == 0:
            overlaps[:, ::4] = -1  # ignored priors
        got = assigner.assign_wrt_overlaps(overlaps.clone()).gt_inds
        assert torch.equal(got, _low_quality_by_loop(assigner, overlaps)), trial
