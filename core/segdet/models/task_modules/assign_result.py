"""The result of assigning ground-truth boxes to priors."""
from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["AssignResult"]


def _check_labels(gt_labels: Tensor | None) -> None:
    # MMDetection 2.x passes gt_bboxes_ignore before gt_labels; segdet's order is the reverse.
    if gt_labels is not None and gt_labels.dim() != 1:
        raise TypeError(
            f"assign(): gt_labels must be (M,) class indices, got shape {tuple(gt_labels.shape)}; "
            "the argument order is (priors, [num_level_priors,] gt_bboxes, gt_labels, gt_bboxes_ignore)"
        )


class AssignResult:
    """Which ground truth, if any, each of ``N`` priors is assigned to.

    Args:
        num_gts: number of ground-truth boxes ``M``.
        gt_inds: ``(N,)`` long: ``0`` negative, ``-1`` ignored, ``i + 1``
            positive for ground truth ``i``.
        max_overlaps: ``(N,)`` float overlap of each prior with its best (for
            positives: its assigned) ground truth.
        labels: ``(N,)`` long class of the assigned ground truth, ``-1`` where
            not positive; ``None`` when the assigner got no labels.
    """

    def __init__(
        self, num_gts: int, gt_inds: Tensor, max_overlaps: Tensor, labels: Tensor | None = None
    ) -> None:
        self.num_gts = int(num_gts)
        self.gt_inds = gt_inds
        self.max_overlaps = max_overlaps
        self.labels = labels

    @property
    def num_preds(self) -> int:
        """Number of priors ``N``."""
        return len(self.gt_inds)

    @property
    def pos_mask(self) -> Tensor:
        """``(N,)`` bool: positive priors."""
        return self.gt_inds > 0

    @property
    def neg_mask(self) -> Tensor:
        """``(N,)`` bool: negative priors."""
        return self.gt_inds == 0

    def add_gt(self, gt_labels: Tensor | None, num_gts: int | None = None) -> AssignResult:
        """A new result with the ground truths prepended as perfect positive priors.

        Used by samplers that add the ground-truth boxes as proposals.
        """
        n = len(gt_labels) if gt_labels is not None else int(num_gts or 0)
        self_inds = torch.arange(1, n + 1, dtype=torch.long, device=self.gt_inds.device)
        gt_inds = torch.cat([self_inds, self.gt_inds])
        max_overlaps = torch.cat([self.max_overlaps.new_ones(n), self.max_overlaps])
        labels = self.labels
        if labels is not None:
            if gt_labels is None:
                raise ValueError("AssignResult.add_gt: gt_labels are needed when the result has labels")
            labels = torch.cat([gt_labels.to(labels), labels])
        return AssignResult(self.num_gts, gt_inds, max_overlaps, labels)

    def __repr__(self) -> str:
        return (
            f"AssignResult(num_gts={self.num_gts}, num_preds={self.num_preds}, "
            f"num_pos={int(self.pos_mask.sum())}, num_neg={int(self.neg_mask.sum())})"
        )
