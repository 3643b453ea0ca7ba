"""Box coder of (dx, dy, dw, dh) deltas between priors and boxes (R-CNN / RetinaNet)."""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Union, cast

import torch
from torch import Tensor

__all__ = ["DeltaXYWHBBoxCoder"]

MaxShape = Union[Sequence[int], Sequence[Sequence[int]], Tensor, None]


def _clip(bboxes: Tensor, max_shape: MaxShape) -> Tensor:
    """Clip ``(..., K*4)`` boxes to ``[0, w] x [0, h]``; ``max_shape`` is ``(h, w[, c])``
    or one such shape per batch element (``(B, 2)`` tensor or list)."""
    if max_shape is None:
        return bboxes
    if isinstance(max_shape, Tensor) or (
        len(max_shape) > 0 and isinstance(max_shape[0], (list, tuple))
    ):
        shapes = torch.as_tensor(max_shape, dtype=bboxes.dtype, device=bboxes.device)[..., :2]
        hw = shapes.view(shapes.shape[0], *([1] * (bboxes.dim() - 2)), 2)
        h, w = hw[..., 0:1], hw[..., 1:2]
    else:
        shape = cast(Sequence[int], max_shape)
        h = bboxes.new_tensor(float(shape[0]))
        w = bboxes.new_tensor(float(shape[1]))
    zero = bboxes.new_zeros(())
    x = torch.min(torch.max(bboxes[..., 0::2], zero), w)
    y = torch.min(torch.max(bboxes[..., 1::2], zero), h)
    return torch.stack([x, y], dim=-1).flatten(-2)


class DeltaXYWHBBoxCoder:
    """Encode boxes as normalized centre/size deltas to priors (MMDetection 2.x formulas).

    ``dx = (gx - px) / pw``, ``dy = (gy - py) / ph``, ``dw = log(gw / pw)``,
    ``dh = log(gh / ph)``, then ``(delta - means) / stds``. Widths have no ``+1``.

    Args:
        target_means: means subtracted from the deltas. Default zeros.
        target_stds: stds dividing the deltas. Default ones.
        clip_border: clip decoded boxes to ``max_shape`` when it is given.
        add_ctr_clamp: clamp the centre shift to ``±ctr_clamp`` pixels and
            ``dw, dh`` only from above (as in YOLOF).
        ctr_clamp: maximum centre shift in pixels. Default 32.
    """

    encode_size = 4

    def __init__(
        self,
        target_means: Sequence[float] = (0.0, 0.0, 0.0, 0.0),
        target_stds: Sequence[float] = (1.0, 1.0, 1.0, 1.0),
        clip_border: bool = True,
        add_ctr_clamp: bool = False,
        ctr_clamp: int = 32,
    ) -> None:
        if len(target_means) != 4 or len(target_stds) != 4:
            raise ValueError("DeltaXYWHBBoxCoder: target_means and target_stds need 4 values each")
        self.means = tuple(float(m) for m in target_means)
        self.stds = tuple(float(s) for s in target_stds)
        self.clip_border = clip_border
        self.add_ctr_clamp = add_ctr_clamp
        self.ctr_clamp = ctr_clamp

    def encode(self, bboxes: Tensor, gt_bboxes: Tensor) -> Tensor:
        """Deltas ``(..., 4)`` that turn priors ``bboxes (..., 4)`` into ``gt_bboxes (..., 4)``."""
        if bboxes.shape != gt_bboxes.shape:
            raise ValueError(
                f"DeltaXYWHBBoxCoder.encode: bboxes {tuple(bboxes.shape)} and gt_bboxes "
                f"{tuple(gt_bboxes.shape)} must have the same shape"
            )
        p, g = bboxes.float(), gt_bboxes.float()
        px, py = (p[..., 0] + p[..., 2]) * 0.5, (p[..., 1] + p[..., 3]) * 0.5
        pw, ph = p[..., 2] - p[..., 0], p[..., 3] - p[..., 1]
        gx, gy = (g[..., 0] + g[..., 2]) * 0.5, (g[..., 1] + g[..., 3]) * 0.5
        gw, gh = g[..., 2] - g[..., 0], g[..., 3] - g[..., 1]
        deltas = torch.stack(
            [(gx - px) / pw, (gy - py) / ph, torch.log(gw / pw), torch.log(gh / ph)], dim=-1
        )
        means = deltas.new_tensor(self.means)
        stds = deltas.new_tensor(self.stds)
        return (deltas - means) / stds

    def decode(
        self,
        bboxes: Tensor,
        pred_bboxes: Tensor,
        max_shape: MaxShape = None,
        wh_ratio_clip: float = 16 / 1000,
    ) -> Tensor:
        """Apply deltas to priors.

        Args:
            bboxes: ``(..., N, 4)`` priors.
            pred_bboxes: ``(..., N, 4*K)`` deltas (``K`` boxes per prior, e.g.
                one per class).
            max_shape: ``(h, w[, c])`` to clip to (or one per batch element).
            wh_ratio_clip: ``dw, dh`` are clamped to ``±|log(wh_ratio_clip)|``.

        Returns:
            ``(..., N, 4*K)`` boxes ``x1, y1, x2, y2``.
        """
        if pred_bboxes.size(-1) % 4 != 0:
            raise ValueError(
                f"DeltaXYWHBBoxCoder.decode: the last dim of pred_bboxes must be a multiple of 4, "
                f"got {tuple(pred_bboxes.shape)}"
            )
        if pred_bboxes.numel() == 0:
            return pred_bboxes.clone()
        lead = pred_bboxes.shape[:-1]
        k = pred_bboxes.size(-1) // 4
        deltas = pred_bboxes.reshape(*lead, k, 4)
        means = deltas.new_tensor(self.means)
        stds = deltas.new_tensor(self.stds)
        deltas = deltas * stds + means
        rois = bboxes[..., None, :].to(deltas.dtype)
        pxy = (rois[..., :2] + rois[..., 2:]) * 0.5
        pwh = rois[..., 2:] - rois[..., :2]
        dxy_wh = pwh * deltas[..., :2]
        dwh = deltas[..., 2:]
        max_ratio = abs(math.log(wh_ratio_clip))
        if self.add_ctr_clamp:
            dxy_wh = dxy_wh.clamp(min=-self.ctr_clamp, max=self.ctr_clamp)
            dwh = dwh.clamp(max=max_ratio)
        else:
            dwh = dwh.clamp(min=-max_ratio, max=max_ratio)
        gxy = pxy + dxy_wh
        gwh = pwh * dwh.exp()
        out = torch.cat([gxy - gwh * 0.5, gxy + gwh * 0.5], dim=-1).reshape(*lead, 4 * k)
        if self.clip_border and max_shape is not None:
            out = _clip(out, max_shape)
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}(target_means={self.means}, target_stds={self.stds})"
