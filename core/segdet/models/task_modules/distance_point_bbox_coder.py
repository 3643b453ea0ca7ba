"""Box coder of (left, top, right, bottom) distances from points (FCOS)."""
from __future__ import annotations

import torch
from torch import Tensor

from .delta_xywh_bbox_coder import MaxShape, _clip

__all__ = ["DistancePointBBoxCoder"]


class DistancePointBBoxCoder:
    """Encode a box as the distances from a point to its four sides.

    Args:
        clip_border: clip decoded boxes to ``max_shape`` when it is given.
    """

    encode_size = 4

    def __init__(self, clip_border: bool = True) -> None:
        self.clip_border = clip_border

    def encode(
        self, points: Tensor, gt_bboxes: Tensor, max_dis: float | None = None, eps: float = 0.1
    ) -> Tensor:
        """``(..., 4)`` distances ``left, top, right, bottom`` of ``points (..., 2)``
        to ``gt_bboxes (..., 4)``; clamped to ``[0, max_dis - eps]`` when ``max_dis``
        is given."""
        left = points[..., 0] - gt_bboxes[..., 0]
        top = points[..., 1] - gt_bboxes[..., 1]
        right = gt_bboxes[..., 2] - points[..., 0]
        bottom = gt_bboxes[..., 3] - points[..., 1]
        dist = torch.stack([left, top, right, bottom], dim=-1)
        if max_dis is not None:
            dist = dist.clamp(min=0, max=max_dis - eps)
        return dist

    def decode(self, points: Tensor, pred_bboxes: Tensor, max_shape: MaxShape = None) -> Tensor:
        """Boxes ``(..., 4)`` from ``points (..., 2)`` and distances ``pred_bboxes (..., 4)``;
        clipped to ``max_shape`` ``(h, w[, c])`` when given and ``clip_border``."""
        if pred_bboxes.size(-1) != 4:
            raise ValueError(
                f"DistancePointBBoxCoder.decode: pred_bboxes must be (..., 4), got {tuple(pred_bboxes.shape)}"
            )
        x1 = points[..., 0] - pred_bboxes[..., 0]
        y1 = points[..., 1] - pred_bboxes[..., 1]
        x2 = points[..., 0] + pred_bboxes[..., 2]
        y2 = points[..., 1] + pred_bboxes[..., 3]
        bboxes = torch.stack([x1, y1, x2, y2], dim=-1)
        if self.clip_border and max_shape is not None:
            bboxes = _clip(bboxes, max_shape)
        return bboxes

    def __repr__(self) -> str:
        return f"{type(self).__name__}(clip_border={self.clip_border})"
