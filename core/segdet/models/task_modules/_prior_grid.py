"""What the anchor and point generators share: stride pairs, row-major grids, level checks, valid flags."""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Union

import torch
from torch import Tensor

Stride = Union[int, Sequence[int]]


def _pair(stride: Stride) -> tuple[int, int]:
    if isinstance(stride, (int, float)):
        return int(stride), int(stride)
    w, h = stride
    return int(w), int(h)


def _meshgrid(x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    # Row-major: x varies fastest, matching MMDetection's prior order.
    xx = x.repeat(y.shape[0])
    yy = y.view(-1, 1).repeat(1, x.shape[0]).view(-1)
    return xx, yy


def _check_num_levels(owner: str, featmap_sizes: Sequence[tuple[int, int]], num_levels: int) -> None:
    if len(featmap_sizes) != num_levels:
        raise ValueError(
            f"{owner}.grid_priors: got {len(featmap_sizes)} feature map sizes for {num_levels} levels"
        )


def _valid_flags(
    strides: Sequence[tuple[int, int]],
    featmap_sizes: Sequence[tuple[int, int]],
    pad_shape: Sequence[int],
    num_base_priors: Sequence[int],
    device: Union[str, torch.device],
) -> list[Tensor]:
    """Per level, ``(H*W*A,)`` flags: priors whose cell lies inside the padded image ``(h, w[, c])``."""
    h, w = int(pad_shape[0]), int(pad_shape[1])
    flags = []
    for (stride_w, stride_h), (feat_h, feat_w), num_priors in zip(strides, featmap_sizes, num_base_priors):
        valid_h = min(int(math.ceil(h / stride_h)), feat_h)
        valid_w = min(int(math.ceil(w / stride_w)), feat_w)
        valid_x = torch.zeros(feat_w, dtype=torch.bool, device=device)
        valid_y = torch.zeros(feat_h, dtype=torch.bool, device=device)
        valid_x[:valid_w] = True
        valid_y[:valid_h] = True
        valid_xx, valid_yy = _meshgrid(valid_x, valid_y)
        valid = valid_xx & valid_yy
        flags.append(valid[:, None].expand(valid.size(0), num_priors).reshape(-1))
    return flags
