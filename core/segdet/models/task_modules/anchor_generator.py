"""Multi-level anchor generator for anchor-based dense heads (MMDetection 2.x semantics)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Union

import torch
from torch import Tensor

from ._prior_grid import Stride, _check_num_levels, _meshgrid, _pair, _valid_flags

__all__ = ["AnchorGenerator"]

class AnchorGenerator:
    """Anchors of several feature levels, each a grid of shifted base anchors.

    Args:
        strides: stride of each level, an int or ``(stride_w, stride_h)``.
        ratios: height/width ratios of the anchors of a location.
        scales: anchor scales; give either this or ``octave_base_scale`` with
            ``scales_per_octave``.
        base_sizes: base size of each level; default ``min(stride)``.
        scale_major: order the anchors of a location scale-first within each
            ratio (``True``, MMDetection's default) or ratio-first.
        octave_base_scale: base scale of the octave scales
            ``octave_base_scale * 2**(i / scales_per_octave)`` (RetinaNet).
        scales_per_octave: number of octave scales.
        centers: explicit ``(x, y)`` centre of the base anchors of each level.
        center_offset: centre of the base anchors as a fraction of the base
            size, in ``[0, 1]``; default 0 (the centre sits on the grid point).

    The base anchor of ratio ``r`` and scale ``s`` at base size ``b`` has
    ``w = b * s / sqrt(r)``, ``h = b * s * sqrt(r)`` and is centred at
    ``center_offset * b``. Level ``l`` holds ``H*W*A`` anchors: the ``A``
    anchors of a location are contiguous, locations are row-major.

    Example:
        >>> gen = AnchorGenerator(strides=[8], ratios=[1.0], scales=[4])
        >>> gen.grid_priors([(1, 2)])[0]
        tensor([[-16., -16., 16., 16.],
                [ -8., -16., 24., 16.]])
    """

    def __init__(
        self,
        strides: Sequence[Stride],
        ratios: Sequence[float],
        scales: Sequence[float] | None = None,
        base_sizes: Sequence[int] | None = None,
        scale_major: bool = True,
        octave_base_scale: float | None = None,
        scales_per_octave: int | None = None,
        centers: Sequence[tuple[float, float]] | None = None,
        center_offset: float = 0.0,
    ) -> None:
        if center_offset != 0 and centers is not None:
            raise ValueError("AnchorGenerator: give centers or a non-zero center_offset, not both")
        if not 0 <= center_offset <= 1:
            raise ValueError(f"AnchorGenerator: center_offset must be in [0, 1], got {center_offset}")
        if centers is not None and len(centers) != len(strides):
            raise ValueError(
                f"AnchorGenerator: centers has {len(centers)} entries but there are {len(strides)} strides"
            )
        self.strides = [_pair(s) for s in strides]
        self.base_sizes = [min(s) for s in self.strides] if base_sizes is None else list(base_sizes)
        if len(self.base_sizes) != len(self.strides):
            raise ValueError(
                f"AnchorGenerator: base_sizes has {len(self.base_sizes)} entries but there are "
                f"{len(self.strides)} strides"
            )
        octave = octave_base_scale is not None and scales_per_octave is not None
        if octave == (scales is not None):
            raise ValueError(
                "AnchorGenerator: give either scales, or octave_base_scale together with "
                "scales_per_octave"
            )
        if scales is not None:
            self.scales = torch.tensor(list(scales), dtype=torch.float32)
        else:
            assert octave_base_scale is not None and scales_per_octave is not None
            octave_scales = [2 ** (i / scales_per_octave) for i in range(scales_per_octave)]
            self.scales = torch.tensor(octave_scales, dtype=torch.float32) * octave_base_scale
        self.octave_base_scale = octave_base_scale
        self.scales_per_octave = scales_per_octave
        self.ratios = torch.tensor(list(ratios), dtype=torch.float32)
        self.scale_major = scale_major
        self.centers = centers
        self.center_offset = center_offset
        self.base_anchors = self._gen_base_anchors()

    @property
    def num_levels(self) -> int:
        """Number of feature levels."""
        return len(self.strides)

    @property
    def num_base_priors(self) -> list[int]:
        """Number of anchors per location of each level."""
        return [a.size(0) for a in self.base_anchors]

    @property
    def num_base_anchors(self) -> list[int]:
        """Alias of :attr:`num_base_priors`."""
        return self.num_base_priors

    def _gen_base_anchors(self) -> list[Tensor]:
        anchors = []
        for i, base_size in enumerate(self.base_sizes):
            center = None if self.centers is None else self.centers[i]
            anchors.append(self.gen_single_level_base_anchors(base_size, self.scales, self.ratios, center))
        return anchors

    def gen_single_level_base_anchors(
        self,
        base_size: float,
        scales: Tensor,
        ratios: Tensor,
        center: tuple[float, float] | None = None,
    ) -> Tensor:
        """``(A, 4)`` anchors of one location at the origin of the grid."""
        if center is None:
            x_center = self.center_offset * base_size
            y_center = self.center_offset * base_size
        else:
            x_center, y_center = center
        h_ratios = torch.sqrt(ratios)
        w_ratios = 1 / h_ratios
        if self.scale_major:
            ws = (base_size * w_ratios[:, None] * scales[None, :]).view(-1)
            hs = (base_size * h_ratios[:, None] * scales[None, :]).view(-1)
        else:
            ws = (base_size * scales[:, None] * w_ratios[None, :]).view(-1)
            hs = (base_size * scales[:, None] * h_ratios[None, :]).view(-1)
        return torch.stack(
            [x_center - 0.5 * ws, y_center - 0.5 * hs, x_center + 0.5 * ws, y_center + 0.5 * hs], dim=-1
        )

    def grid_priors(
        self,
        featmap_sizes: Sequence[tuple[int, int]],
        dtype: torch.dtype = torch.float32,
        device: Union[str, torch.device] = "cpu",
    ) -> list[Tensor]:
        """Anchors of every level.

        Args:
            featmap_sizes: ``(H, W)`` of each level.
            dtype: dtype of the anchors.
            device: device of the anchors.

        Returns:
            One ``(H*W*A, 4)`` tensor per level.
        """
        _check_num_levels("AnchorGenerator", featmap_sizes, self.num_levels)
        return [
            self.single_level_grid_priors(featmap_sizes[i], i, dtype=dtype, device=device)
            for i in range(self.num_levels)
        ]

    def single_level_grid_priors(
        self,
        featmap_size: tuple[int, int],
        level_idx: int,
        dtype: torch.dtype = torch.float32,
        device: Union[str, torch.device] = "cpu",
    ) -> Tensor:
        """``(H*W*A, 4)`` anchors of level ``level_idx``."""
        base_anchors = self.base_anchors[level_idx].to(device=device, dtype=dtype)
        feat_h, feat_w = featmap_size
        stride_w, stride_h = self.strides[level_idx]
        shift_x = torch.arange(0, feat_w, device=device).to(dtype) * stride_w
        shift_y = torch.arange(0, feat_h, device=device).to(dtype) * stride_h
        shift_xx, shift_yy = _meshgrid(shift_x, shift_y)
        shifts = torch.stack([shift_xx, shift_yy, shift_xx, shift_yy], dim=-1)
        return (base_anchors[None, :, :] + shifts[:, None, :]).view(-1, 4)

    def valid_flags(
        self,
        featmap_sizes: Sequence[tuple[int, int]],
        pad_shape: Sequence[int],
        device: Union[str, torch.device] = "cpu",
    ) -> list[Tensor]:
        """Which anchors lie on the part of each feature map covered by the padded image.

        Args:
            featmap_sizes: ``(H, W)`` of each level.
            pad_shape: ``(h, w[, c])`` of the padded image of this sample.
            device: device of the flags.

        Returns:
            One ``(H*W*A,)`` bool tensor per level.
        """
        return _valid_flags(self.strides, featmap_sizes, pad_shape, self.num_base_priors, device)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(strides={self.strides}, ratios={self.ratios.tolist()}, "
            f"scales={self.scales.tolist()}, base_sizes={self.base_sizes}, "
            f"scale_major={self.scale_major}, center_offset={self.center_offset})"
        )

