"""Pairwise or aligned IoU / IoF / GIoU between boxes in ``x1, y1, x2, y2`` form."""
from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["bbox_overlaps"]

_MODES = ("iou", "iof", "giou")


def bbox_overlaps(
    bboxes1: Tensor,
    bboxes2: Tensor,
    mode: str = "iou",
    is_aligned: bool = False,
    eps: float = 1e-6,
) -> Tensor:
    """Overlaps between two sets of boxes (MMDetection semantics, no ``+1``).

    Args:
        bboxes1: ``(..., M, 4)`` boxes ``x1, y1, x2, y2``.
        bboxes2: ``(..., N, 4)`` boxes; with ``is_aligned`` ``N == M``.
        mode: ``'iou'`` (intersection over union), ``'iof'`` (intersection
            over the area of ``bboxes1``) or ``'giou'`` (generalized IoU).
        is_aligned: compare row ``i`` of ``bboxes1`` with row ``i`` of
            ``bboxes2`` only, instead of every pair.
        eps: lower bound of the denominators. Default ``1e-6``.

    Returns:
        ``(..., M, N)`` overlaps, or ``(..., M)`` when ``is_aligned``. Empty
        inputs give an empty tensor of that shape.

    Example:
        >>> b = torch.tensor([[0., 0., 10., 10.]])
        >>> bbox_overlaps(b, torch.tensor([[5., 0., 15., 10.]]))
        tensor([[0.3333]])
    """
    if mode not in _MODES:
        raise ValueError(f"bbox_overlaps: mode must be one of {_MODES}, got {mode!r}")
    if bboxes1.size(-1) != 4 and bboxes1.numel() != 0:
        raise ValueError(f"bbox_overlaps: bboxes1 must be (..., M, 4), got {tuple(bboxes1.shape)}")
    if bboxes2.size(-1) != 4 and bboxes2.numel() != 0:
        raise ValueError(f"bbox_overlaps: bboxes2 must be (..., N, 4), got {tuple(bboxes2.shape)}")
    batch_shape = bboxes1.shape[:-2]
    rows, cols = bboxes1.size(-2), bboxes2.size(-2)
    if is_aligned and rows != cols:
        raise ValueError(f"bbox_overlaps: is_aligned needs as many boxes in both sets, got {rows} and {cols}")
    if rows * cols == 0:
        shape = (*batch_shape, rows) if is_aligned else (*batch_shape, rows, cols)
        return bboxes1.new_zeros(shape)

    area1 = (bboxes1[..., 2] - bboxes1[..., 0]) * (bboxes1[..., 3] - bboxes1[..., 1])
    area2 = (bboxes2[..., 2] - bboxes2[..., 0]) * (bboxes2[..., 3] - bboxes2[..., 1])
    if is_aligned:
        a, b = bboxes1, bboxes2
        union_base = area1 + area2
        area_1 = area1
    else:
        a, b = bboxes1[..., :, None, :], bboxes2[..., None, :, :]
        union_base = area1[..., :, None] + area2[..., None, :]
        area_1 = area1[..., :, None]

    lt = torch.max(a[..., :2], b[..., :2])
    rb = torch.min(a[..., 2:], b[..., 2:])
    wh = (rb - lt).clamp(min=0)
    overlap = wh[..., 0] * wh[..., 1]
    union = union_base - overlap if mode in ("iou", "giou") else area_1
    eps_t = union.new_tensor([eps])
    union = torch.max(union, eps_t)
    ious = overlap / union
    if mode != "giou":
        return ious

    enclosed_lt = torch.min(a[..., :2], b[..., :2])
    enclosed_rb = torch.max(a[..., 2:], b[..., 2:])
    enclose_wh = (enclosed_rb - enclosed_lt).clamp(min=0)
    enclose_area = torch.max(enclose_wh[..., 0] * enclose_wh[..., 1], eps_t)
    return ious - (enclose_area - union) / enclose_area
