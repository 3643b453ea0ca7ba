"""Mask targets of positive RoIs (crop + resize of ground-truth masks) and pasting RoI masks back."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torchvision.ops import roi_align

__all__ = ["mask_target", "paste_masks"]

_GPU_MEM_LIMIT = 1024**3  # bytes of float masks pasted at once on an accelerator


def _as_size(mask_size: Union[int, Sequence[int]]) -> tuple[int, int]:
    if isinstance(mask_size, int):
        return mask_size, mask_size
    h, w = mask_size
    return int(h), int(w)


def _masks_tensor(gt_masks: Any, device: torch.device) -> Tensor:
    """``(K, H, W)`` ground-truth masks as a tensor on ``device`` (uint8/bool tensor or numpy array)."""
    if isinstance(gt_masks, Tensor):
        return gt_masks.to(device)
    if isinstance(gt_masks, np.ndarray):
        return torch.from_numpy(gt_masks).to(device)
    raise TypeError(
        f"mask_target: gt_masks must be uint8 tensors (K, H, W) per image (see docs/CONTRACTS.md), "
        f"got {type(gt_masks).__name__}; add LoadAnnotations(with_mask=True) and collect 'gt_masks'"
    )


def mask_target(
    pos_proposals_list: Sequence[Tensor],
    pos_assigned_gt_inds_list: Sequence[Tensor],
    gt_masks_list: Sequence[Any],
    mask_size: Union[int, Sequence[int]],
    binarize: bool = True,
) -> Tensor:
    """Ground-truth mask of each positive RoI, cropped to the RoI and resized to ``mask_size``.

    The crop is a bilinear ``roi_align`` (``aligned=True``) of the assigned instance's mask,
    as MMDetection's ``BitmapMasks.crop_and_resize``; with ``binarize`` targets are
    ``>= 0.5``.

    Args:
        pos_proposals_list: per image ``(P_i, 4)`` positive RoIs in the padded image.
        pos_assigned_gt_inds_list: per image ``(P_i,)`` index of each RoI's ground truth.
        gt_masks_list: per image ``(K_i, H, W)`` uint8 masks aligned with the padded image.
        mask_size: ``S`` or ``(h, w)`` of the targets.
        binarize: threshold the bilinear crop at 0.5. Default True.

    Returns:
        ``(sum P_i, h, w)`` float targets.
    """
    h, w = _as_size(mask_size)
    targets = []
    for proposals, gt_inds, gt_masks in zip(pos_proposals_list, pos_assigned_gt_inds_list, gt_masks_list):
        if proposals.shape[0] == 0:
            targets.append(proposals.new_zeros((0, h, w)))
            continue
        masks = _masks_tensor(gt_masks, proposals.device)
        if masks.dim() != 3 or masks.shape[0] == 0:
            raise ValueError(
                f"mask_target: {proposals.shape[0]} positive RoIs but gt_masks has shape {tuple(masks.shape)}; "
                "every image needs one (H, W) mask per ground-truth box"
            )
        # Only the used instances, only the region the RoIs cover (2 px margin: every bilinear
        # neighbour of a sample stays inside, so the crop equals roi_align on the full mask),
        # become float; roi_align's batch index picks each RoI's instance.
        used, local = torch.unique(gt_inds.long(), return_inverse=True)
        h_img, w_img = masks.shape[-2:]
        lo = torch.floor(proposals[:, :2].min(dim=0).values) - 2
        hi = torch.ceil(proposals[:, 2:4].max(dim=0).values) + 2
        x0, y0, x1, y1 = (int(v) for v in torch.cat([lo, hi]).tolist())
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(max(x1, 1), w_img), min(max(y1, 1), h_img)
        x0, y0 = min(x0, x1 - 1), min(y0, y1 - 1)
        src = masks[:, y0:y1, x0:x1].index_select(0, used).to(proposals.dtype)[:, None]
        shift = proposals.new_tensor([x0, y0, x0, y0])
        rois = torch.cat([local.to(proposals.dtype)[:, None], proposals[:, :4] - shift], dim=1)
        crop = roi_align(src, rois, (h, w), spatial_scale=1.0, sampling_ratio=0, aligned=True).squeeze(1)
        targets.append((crop >= 0.5).to(proposals.dtype) if binarize else crop)
    if not targets:
        return torch.zeros((0, h, w))
    return torch.cat(targets, dim=0)


def _paste_chunk(masks: Tensor, boxes: Tensor, region: Sequence[int]) -> Tensor:
    """Probabilities of ``masks (n, h, w)`` pasted into their ``boxes (n, 4)`` over ``region``.

    ``region`` is ``(x0, y0, x1, y1)`` in image pixels; each pixel centre of the region is
    mapped into its box's mask and sampled bilinearly (``grid_sample``, zeros outside).
    Returns ``(n, y1 - y0, x1 - x0)``.
    """
    x0, y0, x1, y1 = region
    n = masks.shape[0]
    bx0, by0, bx1, by1 = (boxes[:, i:i + 1] for i in range(4))
    img_y = torch.arange(y0, y1, device=masks.device, dtype=masks.dtype) + 0.5
    img_x = torch.arange(x0, x1, device=masks.device, dtype=masks.dtype) + 0.5
    gy = (img_y[None] - by0) / (by1 - by0).clamp(min=1e-6) * 2 - 1  # (n, Hr)
    gx = (img_x[None] - bx0) / (bx1 - bx0).clamp(min=1e-6) * 2 - 1  # (n, Wr)
    grid = torch.stack([gx[:, None, :].expand(n, gy.shape[1], gx.shape[1]),
                        gy[:, :, None].expand(n, gy.shape[1], gx.shape[1])], dim=3)
    pasted = F.grid_sample(masks[:, None], grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return pasted[:, 0]


def paste_masks(mask_probs: Tensor, boxes: Tensor, img_shape: Sequence[int], threshold: float = 0.5) -> Tensor:
    """Paste per-box mask probabilities into full-image boolean masks.

    Args:
        mask_probs: ``(N, h, w)`` probabilities, each covering its box.
        boxes: ``(N, 4)`` boxes ``x1, y1, x2, y2`` in the output image's pixels.
        img_shape: ``(H, W[, C])`` of the output image.
        threshold: a pixel is in the mask when its probability is ``>= threshold``.

    Returns:
        ``(N, H, W)`` bool on ``mask_probs``' device.

    On the CPU each mask is pasted into its own box region only; on an accelerator chunks of
    masks are pasted over the whole image at once (bounded by ~1 GB of float memory).
    """
    img_h, img_w = int(img_shape[0]), int(img_shape[1])
    n = mask_probs.shape[0]
    out = torch.zeros((n, img_h, img_w), dtype=torch.bool, device=mask_probs.device)
    if n == 0:
        return out
    probs = mask_probs.float()
    boxes = boxes[:, :4].to(probs)
    if probs.device.type == "cpu":
        # One mask at a time, over its box (plus one pixel) only.
        extents = torch.cat([torch.floor(boxes[:, :2]) - 1, torch.ceil(boxes[:, 2:]) + 1], dim=1).tolist()
        for i, (x0, y0, x1, y1) in enumerate(extents):
            region = (max(int(x0), 0), max(int(y0), 0), min(int(x1), img_w), min(int(y1), img_h))
            if region[2] > region[0] and region[3] > region[1]:
                pasted = _paste_chunk(probs[i:i + 1], boxes[i:i + 1], region)
                out[i, region[1]:region[3], region[0]:region[2]] = pasted[0] >= threshold
        return out
    chunk = max(1, min(n, int(_GPU_MEM_LIMIT // max(img_h * img_w * 4, 1))))
    for start in range(0, n, chunk):
        sl = slice(start, min(start + chunk, n))
        out[sl] = _paste_chunk(probs[sl], boxes[sl], (0, 0, img_w, img_h)) >= threshold
    return out
