"""Adaptive Training Sample Selection (Zhang et al., CVPR 2020), MMDetection 2.x semantics."""
from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import Tensor

from ...ops import bbox_overlaps
from .assign_result import AssignResult, _check_labels

__all__ = ["ATSSAssigner"]

_INF = 100000000.0


def _centers(boxes: Tensor) -> Tensor:
    return torch.stack([(boxes[:, 0] + boxes[:, 2]) / 2.0, (boxes[:, 1] + boxes[:, 3]) / 2.0], dim=1)


class ATSSAssigner:
    """Pick positives by an IoU threshold adapted to each ground truth.

    For each ground truth: take on each level the ``topk`` priors whose
    centres are closest to its centre; the threshold is the mean plus the
    standard deviation of their IoUs; candidates with IoU ``>=`` threshold
    whose centre lies inside the ground truth are positive. A prior positive
    for several ground truths goes to the one it overlaps most. All other
    priors are negative, except those ignored through ``gt_bboxes_ignore``.

    Args:
        topk: candidates per level and ground truth. Default 9.
        alpha: if given, rank by ``cls_score**(1 - alpha) * IoU**alpha``
            using ``cls_scores`` and ``bbox_preds`` passed to :meth:`assign`
            (DDOD); ``None`` (default) uses the IoU of the priors.
        ignore_iof_thr: priors whose IoF with an ignored box exceeds this are
            ignored (``-1`` disables).
    """

    #: read by anchor heads: ``assign`` takes the number of priors of every pyramid level
    needs_level_counts: ClassVar[bool] = True

    def __init__(self, topk: int = 9, alpha: float | None = None, ignore_iof_thr: float = -1) -> None:
        self.topk = topk
        self.alpha = alpha
        self.ignore_iof_thr = ignore_iof_thr

    def _overlaps(
        self,
        priors: Tensor,
        gt_bboxes: Tensor,
        gt_labels: Tensor | None,
        cls_scores: Tensor | None,
        bbox_preds: Tensor | None,
    ) -> Tensor:
        if self.alpha is None:
            return bbox_overlaps(priors, gt_bboxes)
        if cls_scores is None or bbox_preds is None or gt_labels is None:
            raise ValueError("ATSSAssigner: with alpha set, assign() needs cls_scores, bbox_preds and gt_labels")
        cls_cost = torch.sigmoid(cls_scores[:, gt_labels.long()])
        ious = bbox_overlaps(bbox_preds, gt_bboxes)
        return cls_cost ** (1 - self.alpha) * ious**self.alpha

    def assign(
        self,
        priors: Tensor,
        num_level_priors: Sequence[int],
        gt_bboxes: Tensor,
        gt_labels: Tensor | None = None,
        gt_bboxes_ignore: Tensor | None = None,
        cls_scores: Tensor | None = None,
        bbox_preds: Tensor | None = None,
    ) -> AssignResult:
        """Assign ``gt_bboxes (M, 4)`` to ``priors (N, 4)``.

        Args:
            priors: ``(N, 4)`` priors of all levels, level after level.
            num_level_priors: number of priors of each level (sums to ``N``).
            gt_bboxes: ``(M, 4)`` ground-truth boxes.
            gt_labels: ``(M,)`` labels, or ``None``.
            gt_bboxes_ignore: ``(K, 4)`` boxes whose priors are ignored.
            cls_scores: ``(N, C)`` logits, only with ``alpha``.
            bbox_preds: ``(N, 4)`` decoded boxes, only with ``alpha``.

        Returns:
            :class:`AssignResult`; ``max_overlaps`` holds, for positives, the
            IoU with their ground truth and, for the others, their best IoU.
        """
        _check_labels(gt_labels)
        priors = priors[:, :4]
        num_gt, num_priors = gt_bboxes.size(0), priors.size(0)
        if sum(num_level_priors) != num_priors:
            raise ValueError(
                f"ATSSAssigner: num_level_priors {list(num_level_priors)} sum to "
                f"{sum(num_level_priors)}, but there are {num_priors} priors"
            )
        gt_inds = priors.new_zeros((num_priors,), dtype=torch.long)
        if num_gt == 0 or num_priors == 0:
            labels = None if gt_labels is None else priors.new_full((num_priors,), -1, dtype=torch.long)
            return AssignResult(num_gt, gt_inds, priors.new_zeros((num_priors,)), labels)

        overlaps = self._overlaps(priors, gt_bboxes, gt_labels, cls_scores, bbox_preds)  # (N, M)
        prior_ctr = _centers(priors)
        # Explicit differences, not cdist: cdist's matmul path perturbs ties between equidistant priors.
        distances = (prior_ctr[:, None, :] - _centers(gt_bboxes)[None, :, :]).pow(2).sum(-1).sqrt()  # (N, M)

        if (
            self.ignore_iof_thr > 0
            and gt_bboxes_ignore is not None
            and gt_bboxes_ignore.numel() > 0
        ):
            ignore_max = bbox_overlaps(priors, gt_bboxes_ignore, mode="iof").max(dim=1).values
            ignored = ignore_max > self.ignore_iof_thr
            distances[ignored, :] = _INF
            gt_inds[ignored] = -1

        candidate_idxs = self._topk_candidates(distances, num_level_priors)  # (K, M)
        gt_range = torch.arange(num_gt, device=priors.device)
        candidate_overlaps = overlaps[candidate_idxs, gt_range]
        thr = candidate_overlaps.mean(0) + candidate_overlaps.std(0)
        is_pos = candidate_overlaps >= thr[None, :]

        cand_ctr = prior_ctr[candidate_idxs]  # (K, M, 2)
        inside = torch.stack(
            [
                cand_ctr[..., 0] - gt_bboxes[:, 0],
                cand_ctr[..., 1] - gt_bboxes[:, 1],
                gt_bboxes[:, 2] - cand_ctr[..., 0],
                gt_bboxes[:, 3] - cand_ctr[..., 1],
            ],
            dim=-1,
        ).min(dim=-1).values > 0.01
        is_pos = is_pos & inside

        # Overlaps of (prior, gt) pairs that are positive candidates; -INF elsewhere.
        pos_overlaps = torch.full_like(overlaps, -_INF)
        cand_gt = gt_range[None, :].expand_as(candidate_idxs)
        sel_p, sel_g = candidate_idxs[is_pos], cand_gt[is_pos]
        pos_overlaps[sel_p, sel_g] = overlaps[sel_p, sel_g]
        best, argbest = pos_overlaps.max(dim=1)
        pos_mask = best != -_INF
        gt_inds[pos_mask] = argbest[pos_mask] + 1

        max_overlaps = torch.where(pos_mask, best, overlaps.max(dim=1).values)
        labels = None
        if gt_labels is not None:
            labels = gt_inds.new_full((num_priors,), -1)
            labels[pos_mask] = gt_labels[gt_inds[pos_mask] - 1].long()
        return AssignResult(num_gt, gt_inds, max_overlaps, labels)

    def _topk_candidates(self, distances: Tensor, num_level_priors: Sequence[int]) -> Tensor:
        candidates = []
        start = 0
        for n in num_level_priors:
            end = start + n
            k = min(self.topk, n)
            if k > 0:
                _, idxs = distances[start:end].topk(k, dim=0, largest=False)
                candidates.append(idxs + start)
            start = end
        return torch.cat(candidates, dim=0)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(topk={self.topk}, alpha={self.alpha}, ignore_iof_thr={self.ignore_iof_thr})"
