"""Task-module settings the R-CNN configs rely on: RoI assigner without low-quality matches,
per-stage target stds of Cascade R-CNN, RPN sampler bounds."""
from __future__ import annotations

import pytest
import torch

from segdet.models.task_modules import (
    AssignResult,
    DeltaXYWHBBoxCoder,
    MaxIoUAssigner,
    RandomSampler,
)


def test_rcnn_assigner_without_low_quality_matches_leaves_a_poorly_covered_gt_alone():
    proposals = torch.tensor([[0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 20.0]])
    gt = torch.tensor([[0.0, 0.0, 10.0, 14.0]])  # IoU 100/140=0.71 and 140/200=0.70
    low = torch.tensor([[30.0, 30.0, 60.0, 60.0]])  # IoU 0 with both
    strict = MaxIoUAssigner(pos_iou_thr=0.7, neg_iou_thr=0.7, min_pos_iou=0.7, match_low_quality=False)
    assert strict.assign(proposals, gt).gt_inds.tolist() == [1, 1]
    r = MaxIoUAssigner(pos_iou_thr=0.75, neg_iou_thr=0.75, min_pos_iou=0.75, match_low_quality=False).assign(
        proposals, gt)
    assert r.gt_inds.tolist() == [0, 0]
    # with low-quality matching the best proposal still gets the gt only if it reaches min_pos_iou
    r = MaxIoUAssigner(pos_iou_thr=0.75, neg_iou_thr=0.75, min_pos_iou=0.7, match_low_quality=True).assign(
        proposals, gt)
    assert r.gt_inds.tolist() == [1, 0]
    r = MaxIoUAssigner(pos_iou_thr=0.5, neg_iou_thr=0.5, min_pos_iou=0.5, match_low_quality=True).assign(
        proposals, torch.cat([gt, low]))
    assert r.gt_inds.tolist() == [1, 1] and r.num_gts == 2


@pytest.mark.parametrize("stds", [(0.1, 0.1, 0.2, 0.2), (0.05, 0.05, 0.1, 0.1), (0.033, 0.033, 0.067, 0.067)])
def test_cascade_stage_stds_scale_the_targets(stds):
    prior = torch.tensor([[0.0, 0.0, 10.0, 10.0]])
    gt = torch.tensor([[1.0, 2.0, 12.0, 9.0]])
    unit = DeltaXYWHBBoxCoder().encode(prior, gt)
    stage = DeltaXYWHBBoxCoder(target_stds=stds)
    torch.testing.assert_close(stage.encode(prior, gt), unit / torch.tensor(stds))
    torch.testing.assert_close(stage.decode(prior, stage.encode(prior, gt)), gt, atol=1e-4, rtol=1e-4)


def test_rpn_sampler_settings():
    torch.manual_seed(0)
    gt_inds = torch.cat([torch.ones(3, dtype=torch.long), torch.zeros(500, dtype=torch.long)])
    r = AssignResult(1, gt_inds, torch.rand(503), None)
    priors = torch.rand(503, 4) * 10
    priors[:, 2:] += priors[:, :2]
    s = RandomSampler(num=256, pos_fraction=0.5, neg_pos_ub=-1, add_gt_as_proposals=False).sample(
        r, priors, torch.tensor([[0.0, 0.0, 5.0, 5.0]]))
    assert s.num_pos == 3 and s.num_neg == 253 and not s.gt_flags.any()
