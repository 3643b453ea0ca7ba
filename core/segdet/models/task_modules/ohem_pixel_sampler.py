"""Online hard example mining of pixels for semantic segmentation (MMSegmentation semantics)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["OHEMPixelSampler"]


class OHEMPixelSampler:
    """Weight 1 for hard pixels, 0 for the rest.

    With ``thresh``: pixels whose predicted probability of their true class is
    below ``max(thresh, p_k)`` are hard, where ``p_k`` is the
    ``min_kept``-th-per-image smallest such probability (so at least about
    ``min_kept`` pixels per image are kept). Without ``thresh``: the
    ``min_kept`` pixels per image with the largest cross-entropy are hard.
    Ignored pixels always weigh 0.

    Args:
        thresh: probability threshold, or ``None`` to rank by loss.
        min_kept: least number of pixels kept per image. Default 100000.
    """

    def __init__(self, thresh: float | None = None, min_kept: int = 100000) -> None:
        if min_kept < 1:
            raise ValueError(f"OHEMPixelSampler: min_kept must be >= 1, got {min_kept}")
        self.thresh = thresh
        self.min_kept = min_kept

    @torch.no_grad()
    def sample(self, seg_logit: Tensor, seg_label: Tensor, ignore_index: int = 255) -> Tensor:
        """Per-pixel weights.

        Args:
            seg_logit: ``(N, C, H, W)`` logits.
            seg_label: ``(N, 1, H, W)`` (or ``(N, H, W)``) labels.
            ignore_index: label of pixels that never count. Default 255.

        Returns:
            ``(N, H, W)`` float weights in ``{0, 1}``.
        """
        if seg_label.dim() == 4:
            if seg_label.shape[1] != 1:
                raise ValueError(f"OHEMPixelSampler: seg_label must be (N, 1, H, W), got {tuple(seg_label.shape)}")
            seg_label = seg_label.squeeze(1)
        if seg_logit.shape[2:] != seg_label.shape[1:]:
            raise ValueError(
                f"OHEMPixelSampler: seg_logit {tuple(seg_logit.shape)} and seg_label "
                f"{tuple(seg_label.shape)} differ in size; resize the logits first"
            )
        seg_label = seg_label.long()
        batch_kept = self.min_kept * seg_label.size(0)
        valid_mask = seg_label != ignore_index
        seg_weight = seg_logit.new_zeros(seg_label.shape)
        valid_weight = seg_weight[valid_mask]
        if self.thresh is not None:
            prob = F.softmax(seg_logit.float(), dim=1)
            label = seg_label.clone()
            label[~valid_mask] = 0
            prob = prob.gather(1, label.unsqueeze(1)).squeeze(1)
            valid_prob = prob[valid_mask]
            sort_prob, _ = valid_prob.sort()
            min_threshold = float(sort_prob[min(batch_kept, sort_prob.numel() - 1)]) if sort_prob.numel() else 0.0
            threshold = max(min_threshold, self.thresh)
            valid_weight[valid_prob < threshold] = 1.0
        else:
            losses = F.cross_entropy(seg_logit.float(), seg_label, ignore_index=ignore_index, reduction="none")
            _, order = losses[valid_mask].sort(descending=True)
            valid_weight[order[:batch_kept]] = 1.0
        seg_weight[valid_mask] = valid_weight
        return seg_weight

    def __repr__(self) -> str:
        return f"{type(self).__name__}(thresh={self.thresh}, min_kept={self.min_kept})"
