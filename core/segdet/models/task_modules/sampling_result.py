"""The positive and negative priors chosen by a sampler."""
from __future__ import annotations

import torch
from torch import Tensor

from .assign_result import AssignResult

__all__ = ["SamplingResult"]


class SamplingResult:
    """Positive and negative priors of one image with their targets.

    Args:
        pos_inds: ``(P,)`` indices of the positive priors.
        neg_inds: ``(Q,)`` indices of the negative priors.
        priors: ``(N, 4)`` all priors (with prepended gt boxes, if any were added).
        gt_bboxes: ``(M, 4)`` ground-truth boxes.
        assign_result: the assignment the samples were drawn from.
        gt_flags: ``(N,)`` bool, ``True`` for priors that are ground truths.

    Attributes:
        pos_priors, neg_priors: ``(P, 4)`` and ``(Q, 4)`` sampled priors.
        pos_gt_bboxes: ``(P, 4)`` ground truth assigned to each positive.
        pos_assigned_gt_inds: ``(P,)`` index of that ground truth in ``gt_bboxes``.
        pos_gt_labels: ``(P,)`` its label, or ``None`` if the assignment has none.
        pos_is_gt: ``(P,)`` bool, positives that are ground truths.
        num_gts: ``M``.
    """

    def __init__(
        self,
        pos_inds: Tensor,
        neg_inds: Tensor,
        priors: Tensor,
        gt_bboxes: Tensor,
        assign_result: AssignResult,
        gt_flags: Tensor,
    ) -> None:
        self.pos_inds = pos_inds
        self.neg_inds = neg_inds
        self.priors = priors
        self.pos_priors = priors[pos_inds]
        self.neg_priors = priors[neg_inds]
        self.gt_flags = gt_flags
        self.pos_is_gt = gt_flags[pos_inds]
        self.num_gts = int(gt_bboxes.shape[0])
        self.assign_result = assign_result
        self.pos_assigned_gt_inds = assign_result.gt_inds[pos_inds] - 1
        if gt_bboxes.numel() == 0:
            if self.pos_assigned_gt_inds.numel() != 0:
                raise ValueError("SamplingResult: positives were assigned although there is no ground truth")
            self.pos_gt_bboxes = gt_bboxes.new_zeros((0, 4))
        else:
            self.pos_gt_bboxes = gt_bboxes.view(-1, 4)[self.pos_assigned_gt_inds]
        labels = assign_result.labels
        self.pos_gt_labels: Tensor | None = None if labels is None else labels[pos_inds]

    @property
    def pos_bboxes(self) -> Tensor:
        """Alias of :attr:`pos_priors` (MMDetection 2.x name)."""
        return self.pos_priors

    @property
    def neg_bboxes(self) -> Tensor:
        """Alias of :attr:`neg_priors` (MMDetection 2.x name)."""
        return self.neg_priors

    @property
    def num_pos(self) -> int:
        return int(self.pos_inds.numel())

    @property
    def num_neg(self) -> int:
        return int(self.neg_inds.numel())

    @property
    def bboxes(self) -> Tensor:
        """``(P + Q, 4)`` positive then negative priors."""
        return torch.cat([self.pos_priors, self.neg_priors])

    def __repr__(self) -> str:
        return f"SamplingResult(num_gts={self.num_gts}, num_pos={self.num_pos}, num_neg={self.num_neg})"
