"""Sample a fixed number of priors with a target positive fraction, uniformly at random."""
from __future__ import annotations

import torch
from torch import Tensor

from .assign_result import AssignResult
from .sampling_result import SamplingResult

__all__ = ["RandomSampler"]


def _random_choice(gallery: Tensor, num: int) -> Tensor:
    if gallery.numel() <= num:
        return gallery
    perm = torch.randperm(gallery.numel(), device=gallery.device)[:num]
    return gallery[perm]


class RandomSampler:
    """Draw up to ``num`` priors, at most ``num * pos_fraction`` of them positive.

    Args:
        num: number of samples per image.
        pos_fraction: upper bound of the positive fraction.
        neg_pos_ub: at most this many negatives per positive (``-1``: no bound).
        add_gt_as_proposals: prepend the ground-truth boxes to the priors as
            positives (needs ``gt_labels`` when the assignment has labels).
    """

    def __init__(
        self,
        num: int,
        pos_fraction: float,
        neg_pos_ub: float = -1,
        add_gt_as_proposals: bool = True,
    ) -> None:
        if not 0 <= pos_fraction <= 1:
            raise ValueError(f"RandomSampler: pos_fraction must be in [0, 1], got {pos_fraction}")
        self.num = num
        self.pos_fraction = pos_fraction
        self.neg_pos_ub = neg_pos_ub
        self.add_gt_as_proposals = add_gt_as_proposals

    def sample(
        self,
        assign_result: AssignResult,
        priors: Tensor,
        gt_bboxes: Tensor,
        gt_labels: Tensor | None = None,
    ) -> SamplingResult:
        """Sample from ``assign_result`` over ``priors (N, 4)``.

        Returns:
            :class:`SamplingResult` whose ``gt_flags`` mark the prepended
            ground truths (its indices refer to the extended priors).
        """
        if priors.dim() < 2:
            priors = priors[None, :]
        priors = priors[:, :4]
        gt_flags = torch.zeros(priors.shape[0], dtype=torch.bool, device=priors.device)
        if self.add_gt_as_proposals and len(gt_bboxes) > 0:
            if gt_labels is None and assign_result.labels is not None:
                raise ValueError("RandomSampler: add_gt_as_proposals needs gt_labels")
            priors = torch.cat([gt_bboxes[:, :4].to(priors), priors], dim=0)
            assign_result = assign_result.add_gt(gt_labels, num_gts=len(gt_bboxes))
            gt_ones = torch.ones(gt_bboxes.shape[0], dtype=torch.bool, device=priors.device)
            gt_flags = torch.cat([gt_ones, gt_flags])

        num_expected_pos = int(self.num * self.pos_fraction)
        pos_gallery = torch.nonzero(assign_result.gt_inds > 0, as_tuple=False).squeeze(1)
        pos_inds = _random_choice(pos_gallery, num_expected_pos).unique()
        num_sampled_pos = pos_inds.numel()
        num_expected_neg = self.num - num_sampled_pos
        if self.neg_pos_ub >= 0:
            neg_upper_bound = int(self.neg_pos_ub * max(1, num_sampled_pos))
            num_expected_neg = min(num_expected_neg, neg_upper_bound)
        neg_gallery = torch.nonzero(assign_result.gt_inds == 0, as_tuple=False).squeeze(1)
        neg_inds = _random_choice(neg_gallery, num_expected_neg).unique()
        return SamplingResult(pos_inds, neg_inds, priors, gt_bboxes, assign_result, gt_flags)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(num={self.num}, pos_fraction={self.pos_fraction}, "
            f"neg_pos_ub={self.neg_pos_ub}, add_gt_as_proposals={self.add_gt_as_proposals})"
        )
