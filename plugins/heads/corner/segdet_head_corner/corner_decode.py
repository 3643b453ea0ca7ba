"""Turn CornerNet's corner heatmaps, embeddings and offsets into scored boxes."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from .heatmap_utils import gather_feat, local_maximum, topk_from_heatmap, transpose_and_gather_feat

__all__ = ["decode_corners"]


def decode_corners(
    tl_heat: torch.Tensor,
    br_heat: torch.Tensor,
    tl_off: torch.Tensor,
    br_off: torch.Tensor,
    tl_emb: torch.Tensor | None,
    br_emb: torch.Tensor | None,
    img_meta: Mapping[str, Any],
    k: int = 100,
    kernel: int = 3,
    distance_threshold: float = 0.5,
    num_dets: int = 1000,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Pair the ``k`` best top-left with the ``k`` best bottom-right corners of every image.

    A pair is rejected (score -1) when the classes differ, the box is empty or inverted, or
    the embeddings are farther apart than ``distance_threshold``; a kept pair scores the mean
    of its corner scores. Positions are refined by the offsets, scaled from the feature map
    to the network input (``batch_input_shape`` or ``pad_shape`` of ``img_meta``) and shifted
    by the ``border`` of a test-time ``RandomCenterCropPad`` if the meta has one.

    Args:
        tl_heat, br_heat: ``(B, C, h, w)`` corner probabilities (after sigmoid).
        tl_off, br_off: ``(B, 2, h, w)`` sub-pixel offsets ``(dx, dy)``.
        tl_emb, br_emb: ``(B, E, h, w)`` embeddings or ``None`` (no grouping by embedding).
        img_meta: meta of the images (one shared input size).
        k: corners per side (``corner_topk``). kernel: ``local_maximum_kernel``.
        distance_threshold: largest embedding distance of a pair.
        num_dets: pairs returned per image (at most ``k * k``).

    Returns:
        ``(bboxes (B, N, 4), scores (B, N), labels (B, N) long)``, best first; rejected pairs
        have score -1.
    """
    batch, _, height, width = tl_heat.shape
    inp_h, inp_w = _input_size(img_meta)
    tl_scores, tl_inds, tl_clses, tl_ys, tl_xs = topk_from_heatmap(local_maximum(tl_heat, kernel), k)
    br_scores, br_inds, br_clses, br_ys, br_xs = topk_from_heatmap(local_maximum(br_heat, kernel), k)
    k = tl_scores.shape[1]
    tl_o = transpose_and_gather_feat(tl_off, tl_inds)  # (B, k, 2)
    br_o = transpose_and_gather_feat(br_off, br_inds)
    # rows: top-left corners, columns: bottom-right corners
    tl_x = ((tl_xs + tl_o[..., 0]) * (inp_w / width))[:, :, None].expand(batch, k, k)
    tl_y = ((tl_ys + tl_o[..., 1]) * (inp_h / height))[:, :, None].expand(batch, k, k)
    br_x = ((br_xs + br_o[..., 0]) * (inp_w / width))[:, None, :].expand(batch, k, k)
    br_y = ((br_ys + br_o[..., 1]) * (inp_h / height))[:, None, :].expand(batch, k, k)
    border = img_meta.get("border")
    if border is not None:  # [top, bottom, left, right] of the image inside the padded input
        x_off, y_off = float(border[2]), float(border[0])
        tl_x, br_x = tl_x - x_off, br_x - x_off
        tl_y, br_y = tl_y - y_off, br_y - y_off
    tl_x, tl_y, br_x, br_y = (v.clamp(min=0) for v in (tl_x, tl_y, br_x, br_y))
    bboxes = torch.stack((tl_x, tl_y, br_x, br_y), dim=3)

    scores = (tl_scores[:, :, None] + br_scores[:, None, :]) / 2
    reject = tl_clses[:, :, None] != br_clses[:, None, :]
    reject |= br_x <= tl_x
    reject |= br_y <= tl_y
    if tl_emb is not None and br_emb is not None:
        tl_e = transpose_and_gather_feat(tl_emb, tl_inds)  # (B, k, E)
        br_e = transpose_and_gather_feat(br_emb, br_inds)
        dists = (tl_e[:, :, None, :] - br_e[:, None, :, :]).abs().sum(-1)
        reject |= dists > distance_threshold
    scores = torch.where(reject, torch.full_like(scores, -1.0), scores)

    scores, inds = torch.topk(scores.reshape(batch, -1), min(num_dets, k * k))
    bboxes = gather_feat(bboxes.reshape(batch, -1, 4), inds)
    labels = tl_clses[:, :, None].expand(batch, k, k).reshape(batch, -1).gather(1, inds)
    return bboxes, scores, labels.long()


def _input_size(meta: Mapping[str, Any]) -> tuple[float, float]:
    shape = meta.get("batch_input_shape") or meta.get("pad_shape") or meta.get("img_shape")
    if shape is None:
        raise KeyError("CornerHead decoding needs 'batch_input_shape', 'pad_shape' or 'img_shape' in img_metas")
    return float(shape[0]), float(shape[1])
