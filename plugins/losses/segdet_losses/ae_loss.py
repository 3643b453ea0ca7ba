"""Associative embedding loss of CornerNet (pull corners of one object together, push objects apart)."""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["AssociativeEmbeddingLoss", "ae_loss_per_image"]

Match = Sequence[Sequence[Sequence[int]]]


def ae_loss_per_image(tl_preds: Tensor, br_preds: Tensor, match: Match,
                      margin: float = 1.0) -> tuple[Tensor, Tensor]:
    """Pull and push losses of one image.

    With ``e_tl``, ``e_br`` the embeddings at an object's two corners and ``e = (e_tl + e_br) / 2``:
    ``pull = sum_k (e_tl_k - e_k)^2 + (e_br_k - e_k)^2) / N`` and
    ``push = sum_{j != k} relu(margin - |sum_c(e_j - e_k)|) / (N (N - 1))``.

    Args:
        tl_preds: ``(C, H, W)`` top-left embeddings.
        br_preds: ``(C, H, W)`` bottom-right embeddings.
        match: per object ``[[tl_y, tl_x], [br_y, br_x]]`` feature-map indices.
        margin: push margin. Default 1 (the paper's).

    Returns:
        ``(pull, push)`` scalars; both are zero (with gradient) without objects, push also
        with one object.
    """
    zero = tl_preds.sum() * 0.0
    if len(match) == 0:
        return zero, zero
    tl_y = torch.as_tensor([m[0][0] for m in match], device=tl_preds.device, dtype=torch.long)
    tl_x = torch.as_tensor([m[0][1] for m in match], device=tl_preds.device, dtype=torch.long)
    br_y = torch.as_tensor([m[1][0] for m in match], device=tl_preds.device, dtype=torch.long)
    br_x = torch.as_tensor([m[1][1] for m in match], device=tl_preds.device, dtype=torch.long)
    tl = tl_preds[:, tl_y, tl_x].t()  # (N, C)
    br = br_preds[:, br_y, br_x].t()
    mean = (tl + br) / 2.0
    num = tl.shape[0]
    pull = ((tl - mean).pow(2) + (br - mean).pow(2)).sum() / num
    if num < 2:
        return pull, zero
    diff = (mean[:, None, :] - mean[None, :, :]).sum(-1).abs()  # (N, N)
    off_diag = 1.0 - torch.eye(num, dtype=mean.dtype, device=mean.device)
    push = (F.relu(margin - diff) * off_diag).sum() / (num * (num - 1))
    return pull, push


class AssociativeEmbeddingLoss(nn.Module):
    """CornerNet's grouping loss on corner embeddings (Newell et al., "Associative Embedding").

    Args:
        pull_weight: factor of the pull term. Default 0.25.
        push_weight: factor of the push term. Default 0.25.

    ``forward(pred, target, match)``: ``pred`` top-left and ``target`` bottom-right embeddings,
    both ``(B, C, H, W)``; ``match`` per image a list of ``[[tl_y, tl_x], [br_y, br_x]]``.
    Returns ``(pull, push)``: weighted per-image losses summed over the batch (as MMDetection).
    For ``C > 1`` an object's embedding is its ``C``-vector (MMDetection flattens it into
    ``C`` separate scalars); for ``C = 1`` (every shipped config) the two agree.
    """

    def __init__(self, pull_weight: float = 0.25, push_weight: float = 0.25) -> None:
        super().__init__()
        self.pull_weight = pull_weight
        self.push_weight = push_weight

    def forward(self, pred: Tensor, target: Tensor, match: Sequence[Match]) -> tuple[Tensor, Tensor]:
        if pred.shape != target.shape:
            raise ValueError(f"AssociativeEmbeddingLoss: top-left {tuple(pred.shape)} and bottom-right "
                             f"{tuple(target.shape)} embeddings must have the same shape")
        if len(match) != pred.shape[0]:
            raise ValueError(f"AssociativeEmbeddingLoss: {len(match)} match lists for a batch of {pred.shape[0]}")
        pull_all = pred.sum() * 0.0
        push_all = pred.sum() * 0.0
        for i in range(pred.shape[0]):
            pull, push = ae_loss_per_image(pred[i], target[i], match[i])
            pull_all = pull_all + self.pull_weight * pull
            push_all = push_all + self.push_weight * push
        return pull_all, push_all
