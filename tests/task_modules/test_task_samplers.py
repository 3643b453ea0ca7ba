"""PseudoSampler, RandomSampler and OHEMPixelSampler counts and values."""
from __future__ import annotations

import math

import torch

from segdet.models.task_modules import AssignResult, OHEMPixelSampler, PseudoSampler, RandomSampler


def _assign(num_pos: int, num_neg: int, num_ignore: int = 0) -> tuple[AssignResult, torch.Tensor, torch.Tensor]:
    gt_inds = torch.cat([
        torch.arange(num_pos) % 3 + 1,
        torch.zeros(num_neg, dtype=torch.long),
        torch.full((num_ignore,), -1, dtype=torch.long),
    ])
    labels = torch.where(gt_inds > 0, gt_inds + 10, torch.full_like(gt_inds, -1))
    n = gt_inds.numel()
    priors = torch.rand(n, 2) * 50
    priors = torch.cat([priors, priors + 10], 1)
    gts = torch.tensor([[0.0, 0.0, 5.0, 5.0], [1.0, 1.0, 6.0, 6.0], [2.0, 2.0, 7.0, 7.0]])
    return AssignResult(3, gt_inds, torch.rand(n), labels), priors, gts


def test_pseudo_sampler_takes_everything():
    r, priors, gts = _assign(5, 7, 2)
    s = PseudoSampler().sample(r, priors, gts)
    assert s.pos_inds.tolist() == [0, 1, 2, 3, 4]
    assert s.neg_inds.tolist() == list(range(5, 12))
    assert torch.equal(s.pos_priors, priors[:5]) and torch.equal(s.neg_priors, priors[5:12])
    assert s.pos_assigned_gt_inds.tolist() == [0, 1, 2, 0, 1]
    assert torch.equal(s.pos_gt_bboxes, gts[[0, 1, 2, 0, 1]])
    assert s.pos_gt_labels.tolist() == [11, 12, 13, 11, 12]
    assert s.num_gts == 3 and not s.gt_flags.any()


def test_pseudo_sampler_no_gt():
    r = AssignResult(0, torch.zeros(4, dtype=torch.long), torch.zeros(4), torch.full((4,), -1))
    s = PseudoSampler().sample(r, torch.rand(4, 4), torch.zeros((0, 4)))
    assert s.pos_inds.numel() == 0 and s.neg_inds.numel() == 4 and s.pos_gt_bboxes.shape == (0, 4)


def test_random_sampler_counts():
    r, priors, gts = _assign(10, 50)
    s = RandomSampler(num=16, pos_fraction=0.25, add_gt_as_proposals=False).sample(r, priors, gts)
    assert s.num_pos == 4 and s.num_neg == 12
    assert (r.gt_inds[s.pos_inds] > 0).all() and (r.gt_inds[s.neg_inds] == 0).all()
    s = RandomSampler(num=16, pos_fraction=0.25, neg_pos_ub=2, add_gt_as_proposals=False).sample(r, priors, gts)
    assert s.num_pos == 4 and s.num_neg == 8
    r, priors, gts = _assign(2, 50)
    s = RandomSampler(num=16, pos_fraction=0.25, add_gt_as_proposals=False).sample(r, priors, gts)
    assert s.num_pos == 2 and s.num_neg == 14
    r, priors, gts = _assign(0, 5)
    s = RandomSampler(num=16, pos_fraction=0.25, neg_pos_ub=3, add_gt_as_proposals=False).sample(r, priors, gts)
    assert s.num_pos == 0 and s.num_neg == 3  # upper bound uses max(1, num_pos)


def test_random_sampler_adds_gt_as_proposals():
    r, priors, gts = _assign(0, 20)
    labels = torch.tensor([11, 12, 13])
    s = RandomSampler(num=8, pos_fraction=0.5).sample(r, priors, gts, labels)
    assert s.gt_flags.tolist()[:3] == [True, True, True] and s.gt_flags.shape == (23,)
    assert s.pos_inds.tolist() == [0, 1, 2]
    assert s.pos_is_gt.all() and torch.equal(s.pos_gt_bboxes, gts)
    assert s.pos_gt_labels.tolist() == [11, 12, 13]
    assert s.num_neg == 5 and (s.neg_inds >= 3).all()
    assert r.gt_inds.numel() == 20  # the caller's assignment is left untouched


def test_ohem_with_threshold_by_hand():
    # Class-0 probabilities are sigmoid(0, 1, 2, 3) = 0.5, 0.731, 0.881, (ignored)
    logit = torch.tensor([[0.0, 1.0, 2.0, 3.0], [0.0, 0.0, 0.0, 0.0]]).view(1, 2, 1, 4)
    label = torch.tensor([0, 0, 0, 255]).view(1, 1, 1, 4)
    probs = [1 / (1 + math.exp(-x)) for x in (0.0, 1.0, 2.0)]
    # min_kept=1: the threshold is max(thresh, 2nd smallest prob = 0.731)
    w = OHEMPixelSampler(thresh=0.8, min_kept=1).sample(logit, label)
    assert w.shape == (1, 1, 4) and w.flatten().tolist() == [1.0, 1.0, 0.0, 0.0]
    assert probs[1] < 0.8 < probs[2]
    w = OHEMPixelSampler(thresh=0.6, min_kept=1).sample(logit, label)
    assert w.flatten().tolist() == [1.0, 0.0, 0.0, 0.0]


def test_ohem_by_loss_keeps_hardest():
    logit = torch.tensor([[0.0, 1.0, 2.0, 3.0], [0.0, 0.0, 0.0, 0.0]]).view(1, 2, 1, 4)
    label = torch.tensor([0, 0, 0, 255]).view(1, 4)[:, None].view(1, 1, 4)  # (N, H, W) also accepted
    w = OHEMPixelSampler(min_kept=2).sample(logit, label)
    assert w.flatten().tolist() == [1.0, 1.0, 0.0, 0.0]
    all_ignored = torch.full((2, 1, 3, 3), 255)
    assert OHEMPixelSampler(thresh=0.7, min_kept=4).sample(torch.randn(2, 3, 3, 3), all_ignored).sum() == 0
    # per image min_kept: batch of two keeps 2 * min_kept pixels
    w = OHEMPixelSampler(min_kept=3).sample(torch.randn(2, 3, 4, 4), torch.randint(0, 3, (2, 1, 4, 4)))
    assert w.sum() == 6
