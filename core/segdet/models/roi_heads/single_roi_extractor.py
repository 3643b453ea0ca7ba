"""Pool a fixed-size feature for each RoI from the FPN level its scale maps to."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Union

import torch
from torch import Tensor, nn
from torchvision.ops import roi_align, roi_pool

from ...errors import ConfigError

__all__ = ["SingleRoIExtractor"]

_ROI_LAYER_KEYS = {
    "RoIAlign": {"output_size", "sampling_ratio", "aligned", "pool_mode", "use_torchvision"},
    "RoIPool": {"output_size"},
}


def _pair(size: Union[int, Sequence[int]]) -> tuple[int, int]:
    if isinstance(size, int):
        return size, size
    h, w = size
    return int(h), int(w)


class SingleRoIExtractor(nn.Module):
    """RoI features from one level per RoI (the FPN paper's level assignment, MMDetection's).

    A RoI of scale ``s = sqrt(w * h)`` goes to level
    ``floor(log2(s / finest_scale + 1e-6))``, clamped to ``[0, L - 1]``: with the defaults,
    RoIs smaller than 112 px use the first level (stride 4), 112-224 the second, ...

    Args:
        roi_layer: ``dict(type='RoIAlign', output_size=7, sampling_ratio=0, aligned=True)``
            (torchvision's ``roi_align``; ``sampling_ratio=0`` samples adaptively) or
            ``dict(type='RoIPool', output_size=7)``.
        out_channels: channels of the input feature maps (and of the pooled features).
        featmap_strides: stride of each input level, e.g. ``[4, 8, 16, 32]``.
        finest_scale: RoI scale mapped to the first level boundary. Default 56.
        init_cfg: accepted for MMDetection configs; the extractor has no parameters.

    Shapes: ``forward(feats, rois)`` with ``feats[l]: (B, out_channels, H_l, W_l)`` and
    ``rois: (N, 5)`` ``batch_index, x1, y1, x2, y2`` (input-image pixels) returns
    ``(N, out_channels, output_size, output_size)``.

    Example:
        >>> ext = SingleRoIExtractor(dict(type='RoIAlign', output_size=7, sampling_ratio=0),
        ...                          out_channels=8, featmap_strides=[4, 8])
    """

    def __init__(
        self,
        roi_layer: Mapping[str, Any],
        out_channels: int,
        featmap_strides: Sequence[int],
        finest_scale: int = 56,
        init_cfg: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        kind = roi_layer.get("type")
        if kind not in _ROI_LAYER_KEYS:
            raise ConfigError(
                f"SingleRoIExtractor: roi_layer.type must be one of {sorted(_ROI_LAYER_KEYS)}, got {kind!r}"
            )
        unknown = set(roi_layer) - _ROI_LAYER_KEYS[kind] - {"type"}
        if unknown:
            raise ConfigError(
                f"SingleRoIExtractor: roi_layer {kind} does not take {sorted(unknown)}; "
                f"it takes {sorted(_ROI_LAYER_KEYS[kind])}"
            )
        if roi_layer.get("pool_mode", "avg") != "avg":
            raise ConfigError("SingleRoIExtractor: roi_layer.pool_mode must be 'avg' (torchvision's roi_align)")
        if not featmap_strides:
            raise ConfigError("SingleRoIExtractor: featmap_strides must name at least one level")
        self.roi_layer = dict(roi_layer)
        self.layer_type = str(kind)
        self.output_size = _pair(roi_layer.get("output_size", 7))
        self.sampling_ratio = int(roi_layer.get("sampling_ratio", 0))
        self.aligned = bool(roi_layer.get("aligned", True))
        self.out_channels = out_channels
        self.featmap_strides = [int(s) for s in featmap_strides]
        self.finest_scale = finest_scale
        self.init_cfg = dict(init_cfg) if init_cfg is not None else None

    @property
    def num_inputs(self) -> int:
        """Number of input levels."""
        return len(self.featmap_strides)

    def map_roi_levels(self, rois: Tensor, num_levels: int) -> Tensor:
        """``(N,)`` long level of each of ``rois (N, 5)``."""
        scale = torch.sqrt((rois[:, 3] - rois[:, 1]) * (rois[:, 4] - rois[:, 2]))
        lvls = torch.floor(torch.log2(scale / self.finest_scale + 1e-6))
        return lvls.clamp(min=0, max=num_levels - 1).long()

    def roi_rescale(self, rois: Tensor, scale_factor: float) -> Tensor:
        """RoIs scaled by ``scale_factor`` about their centres (batch index kept)."""
        cx = (rois[:, 1] + rois[:, 3]) * 0.5
        cy = (rois[:, 2] + rois[:, 4]) * 0.5
        w = (rois[:, 3] - rois[:, 1]) * scale_factor
        h = (rois[:, 4] - rois[:, 2]) * scale_factor
        return torch.stack([rois[:, 0], cx - w * 0.5, cy - h * 0.5, cx + w * 0.5, cy + h * 0.5], dim=1)

    def _pool(self, feat: Tensor, rois: Tensor, stride: int) -> Tensor:
        rois = rois.to(feat.dtype)
        if self.layer_type == "RoIPool":
            return roi_pool(feat, rois, self.output_size, spatial_scale=1.0 / stride)
        return roi_align(feat, rois, self.output_size, spatial_scale=1.0 / stride,
                         sampling_ratio=self.sampling_ratio, aligned=self.aligned)

    def forward(self, feats: Sequence[Tensor], rois: Tensor, roi_scale_factor: float | None = None) -> Tensor:
        """Pooled features ``(N, C, oh, ow)`` of ``rois (N, 5)`` from ``feats`` (first ``num_inputs`` levels)."""
        if len(feats) < self.num_inputs:
            raise ValueError(
                f"SingleRoIExtractor: {self.num_inputs} featmap_strides but only {len(feats)} feature maps"
            )
        if roi_scale_factor is not None:
            rois = self.roi_rescale(rois, roi_scale_factor)
        if self.num_inputs == 1:
            return self._pool(feats[0], rois, self.featmap_strides[0])
        oh, ow = self.output_size
        out = feats[0].new_zeros((rois.shape[0], feats[0].shape[1], oh, ow))
        if rois.shape[0] == 0:
            return out + sum(f.sum() * 0.0 for f in feats[: self.num_inputs]) if self.training else out
        target_lvls = self.map_roi_levels(rois, self.num_inputs)
        for lvl in range(self.num_inputs):
            inds = torch.nonzero(target_lvls == lvl, as_tuple=False).squeeze(1)
            if inds.numel() > 0:
                out[inds] = self._pool(feats[lvl], rois[inds], self.featmap_strides[lvl])
            elif self.training:
                # Keep every level in the graph so DDP sees a gradient for all of them.
                out = out + feats[lvl].sum() * 0.0
        return out

    def extra_repr(self) -> str:
        return (f"roi_layer={self.roi_layer}, out_channels={self.out_channels}, "
                f"featmap_strides={self.featmap_strides}, finest_scale={self.finest_scale}")

