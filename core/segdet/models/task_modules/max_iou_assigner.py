"""Assign each prior to the ground truth it overlaps most (MMDetection 2.x semantics)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Union

import torch
from torch import Tensor

from ...ops import bbox_overlaps
from .assign_result import AssignResult, _check_labels

__all__ = ["MaxIoUAssigner"]


class MaxIoUAssigner:
    """Positive if IoU ``>= pos_iou_thr``, negative if IoU is in the negative range.

    Priors are first marked ignored (``-1``); those whose best IoU lies in the
    negative range become negative (``0``), those whose best IoU reaches
    ``pos_iou_thr`` become positive (``gt index + 1``). With
    ``match_low_quality`` every ground truth whose best IoU is at least
    ``min_pos_iou`` is then also given its best prior (all tied priors if
    ``gt_max_assign_all``), overriding earlier assignments.

    Args:
        pos_iou_thr: IoU from which a prior is positive.
        neg_iou_thr: IoU below which a prior is negative, or a ``(lo, hi)``
            range ``lo <= IoU < hi``.
        min_pos_iou: least IoU for a low-quality match. Default 0.
        gt_max_assign_all: give a ground truth every prior tied at its best IoU.
        ignore_iof_thr: priors whose IoF with an ignored box exceeds this are
            ignored (``-1`` disables).
        ignore_wrt_candidates: IoF over the prior's area (``True``) or over
            the ignored box's area.
        match_low_quality: allow low-quality matches (see above).
        gpu_assign_thr: with more ground truths than this, assign on CPU to
            save device memory (``-1`` never).
    """

    def __init__(
        self,
        pos_iou_thr: float,
        neg_iou_thr: Union[float, Sequence[float]],
        min_pos_iou: float = 0.0,
        gt_max_assign_all: bool = True,
        ignore_iof_thr: float = -1,
        ignore_wrt_candidates: bool = True,
        match_low_quality: bool = True,
        gpu_assign_thr: int = -1,
    ) -> None:
        if not isinstance(neg_iou_thr, (int, float)):
            if len(neg_iou_thr) != 2:
                raise ValueError(f"MaxIoUAssigner: neg_iou_thr must be a float or (lo, hi), got {neg_iou_thr}")
            neg_iou_thr = (float(neg_iou_thr[0]), float(neg_iou_thr[1]))
        self.pos_iou_thr = pos_iou_thr
        self.neg_iou_thr = neg_iou_thr
        self.min_pos_iou = min_pos_iou
        self.gt_max_assign_all = gt_max_assign_all
        self.ignore_iof_thr = ignore_iof_thr
        self.ignore_wrt_candidates = ignore_wrt_candidates
        self.match_low_quality = match_low_quality
        self.gpu_assign_thr = gpu_assign_thr

    def assign(
        self,
        priors: Tensor,
        gt_bboxes: Tensor,
        gt_labels: Tensor | None = None,
        gt_bboxes_ignore: Tensor | None = None,
    ) -> AssignResult:
        """Assign ``gt_bboxes (M, 4)`` (labels ``(M,)``) to ``priors (N, 4)``."""
        _check_labels(gt_labels)
        priors = priors[:, :4]
        device = priors.device
        on_cpu = self.gpu_assign_thr > 0 and gt_bboxes.shape[0] > self.gpu_assign_thr
        if on_cpu:
            priors, gt_bboxes = priors.cpu(), gt_bboxes.cpu()
            gt_labels = None if gt_labels is None else gt_labels.cpu()
            gt_bboxes_ignore = None if gt_bboxes_ignore is None else gt_bboxes_ignore.cpu()

        overlaps = bbox_overlaps(gt_bboxes, priors)  # (M, N)
        if (
            self.ignore_iof_thr > 0
            and gt_bboxes_ignore is not None
            and gt_bboxes_ignore.numel() > 0
            and priors.numel() > 0
        ):
            if self.ignore_wrt_candidates:
                ignore_max = bbox_overlaps(priors, gt_bboxes_ignore, mode="iof").max(dim=1).values
            else:
                ignore_max = bbox_overlaps(gt_bboxes_ignore, priors, mode="iof").max(dim=0).values
            overlaps[:, ignore_max > self.ignore_iof_thr] = -1

        result = self.assign_wrt_overlaps(overlaps, gt_labels)
        if on_cpu:
            result.gt_inds = result.gt_inds.to(device)
            result.max_overlaps = result.max_overlaps.to(device)
            if result.labels is not None:
                result.labels = result.labels.to(device)
        return result

    def assign_wrt_overlaps(self, overlaps: Tensor, gt_labels: Tensor | None = None) -> AssignResult:
        """Assign from an ``(M, N)`` overlap matrix (``-1`` marks ignored priors)."""
        num_gts, num_priors = overlaps.shape
        gt_inds = overlaps.new_full((num_priors,), -1, dtype=torch.long)
        if num_gts == 0 or num_priors == 0:
            max_overlaps = overlaps.new_zeros((num_priors,))
            if num_gts == 0:
                gt_inds.zero_()
            labels = None if gt_labels is None else overlaps.new_full((num_priors,), -1, dtype=torch.long)
            return AssignResult(num_gts, gt_inds, max_overlaps, labels)

        max_overlaps, argmax_overlaps = overlaps.max(dim=0)
        gt_max_overlaps, gt_argmax_overlaps = overlaps.max(dim=1)
        if isinstance(self.neg_iou_thr, tuple):
            lo, hi = self.neg_iou_thr
            gt_inds[(max_overlaps >= lo) & (max_overlaps < hi)] = 0
        else:
            gt_inds[(max_overlaps >= 0) & (max_overlaps < self.neg_iou_thr)] = 0

        pos = max_overlaps >= self.pos_iou_thr
        gt_inds[pos] = argmax_overlaps[pos] + 1

        if self.match_low_quality:
            # Every ground truth (reaching min_pos_iou) takes its best prior(s); where several
            # claim one prior the later ground truth wins, as in MMDetection's loop over them.
            # One-based numbers grow with the index, so "later" is the maximum: a few
            # whole-matrix ops instead of two per ground truth.
            number = torch.arange(1, num_gts + 1, device=gt_inds.device)
            number = torch.where(gt_max_overlaps >= self.min_pos_iou, number, torch.zeros_like(number))
            if self.gt_max_assign_all:
                last = ((overlaps == gt_max_overlaps[:, None]) * number[:, None]).amax(dim=0)
            else:
                last = torch.zeros_like(gt_inds).scatter_reduce_(0, gt_argmax_overlaps, number, "amax")
            gt_inds = torch.where(last > 0, last, gt_inds)

        labels = None
        if gt_labels is not None:
            labels = gt_inds.new_full((num_priors,), -1)
            pos_mask = gt_inds > 0
            labels[pos_mask] = gt_labels[gt_inds[pos_mask] - 1].long()
        return AssignResult(num_gts, gt_inds, max_overlaps, labels)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(pos_iou_thr={self.pos_iou_thr}, neg_iou_thr={self.neg_iou_thr}, "
            f"min_pos_iou={self.min_pos_iou}, match_low_quality={self.match_low_quality})"
        )
