"""A sampler that keeps every positive and every negative prior."""
from __future__ import annotations

import torch
from torch import Tensor

from .assign_result import AssignResult
from .sampling_result import SamplingResult

__all__ = ["PseudoSampler"]


class PseudoSampler:
    """Positives are the priors with ``gt_inds > 0``, negatives those with ``gt_inds == 0``."""

    def __init__(self) -> None:
        pass

    def sample(self, assign_result: AssignResult, priors: Tensor, gt_bboxes: Tensor) -> SamplingResult:
        """All positives and negatives of ``assign_result`` over ``priors (N, 4)``."""
        # nonzero's indices are already sorted and unique (MMDetection's extra unique() sorts again)
        pos_inds = torch.nonzero(assign_result.gt_inds > 0, as_tuple=False).squeeze(-1)
        neg_inds = torch.nonzero(assign_result.gt_inds == 0, as_tuple=False).squeeze(-1)
        gt_flags = torch.zeros(priors.shape[0], dtype=torch.bool, device=priors.device)
        return SamplingResult(pos_inds, neg_inds, priors, gt_bboxes, assign_result, gt_flags)

    def __repr__(self) -> str:
        return "PseudoSampler()"
