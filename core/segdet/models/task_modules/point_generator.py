"""Multi-level point generator for anchor-free dense heads (FCOS)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Union

import torch
from torch import Tensor

from ._prior_grid import Stride, _check_num_levels, _meshgrid, _pair, _valid_flags

__all__ = ["MlvlPointGenerator"]


class MlvlPointGenerator:
    """One point per feature-map location per level, at ``(j + offset) * stride``.

    Args:
        strides: stride of each level, an int or ``(stride_w, stride_h)``.
        offset: offset of the points in units of the stride. Default 0.5
            (the centre of the cell).

    Example:
        >>> MlvlPointGenerator([8]).grid_priors([(1, 2)])[0]
        tensor([[ 4.,  4.],
                [12.,  4.]])
    """

    def __init__(self, strides: Sequence[Stride], offset: float = 0.5) -> None:
        self.strides = [_pair(s) for s in strides]
        self.offset = offset

    @property
    def num_levels(self) -> int:
        """Number of feature levels."""
        return len(self.strides)

    @property
    def num_base_priors(self) -> list[int]:
        """One point per location on every level."""
        return [1 for _ in self.strides]

    def grid_priors(
        self,
        featmap_sizes: Sequence[tuple[int, int]],
        dtype: torch.dtype = torch.float32,
        device: Union[str, torch.device] = "cpu",
        with_stride: bool = False,
    ) -> list[Tensor]:
        """Points of every level.

        Args:
            featmap_sizes: ``(H, W)`` of each level.
            dtype: dtype of the points.
            device: device of the points.
            with_stride: append ``stride_w, stride_h`` to every point.

        Returns:
            One ``(H*W, 2)`` (``x, y``) or ``(H*W, 4)`` (``x, y, stride_w,
            stride_h``) tensor per level; locations are row-major.
        """
        _check_num_levels("MlvlPointGenerator", featmap_sizes, self.num_levels)
        return [
            self.single_level_grid_priors(featmap_sizes[i], i, dtype, device, with_stride)
            for i in range(self.num_levels)
        ]

    def single_level_grid_priors(
        self,
        featmap_size: tuple[int, int],
        level_idx: int,
        dtype: torch.dtype = torch.float32,
        device: Union[str, torch.device] = "cpu",
        with_stride: bool = False,
    ) -> Tensor:
        """``(H*W, 2 or 4)`` points of level ``level_idx``."""
        feat_h, feat_w = featmap_size
        stride_w, stride_h = self.strides[level_idx]
        shift_x = ((torch.arange(0, feat_w, device=device) + self.offset) * stride_w).to(dtype)
        shift_y = ((torch.arange(0, feat_h, device=device) + self.offset) * stride_h).to(dtype)
        xx, yy = _meshgrid(shift_x, shift_y)
        if not with_stride:
            return torch.stack([xx, yy], dim=-1)
        sw = xx.new_full((xx.shape[0],), stride_w)
        sh = xx.new_full((xx.shape[0],), stride_h)
        return torch.stack([xx, yy, sw, sh], dim=-1)

    def valid_flags(
        self,
        featmap_sizes: Sequence[tuple[int, int]],
        pad_shape: Sequence[int],
        device: Union[str, torch.device] = "cpu",
    ) -> list[Tensor]:
        """One ``(H*W,)`` bool tensor per level: points inside the padded image."""
        return _valid_flags(self.strides, featmap_sizes, pad_shape, self.num_base_priors, device)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(strides={self.strides}, offset={self.offset})"
