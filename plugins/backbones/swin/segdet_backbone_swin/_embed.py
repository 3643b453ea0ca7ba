"""Patch embedding and patch merging (MMDetection's ``PatchEmbed`` / ``PatchMerging`` layouts)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from segdet.api import build_norm_layer

__all__ = ["PatchEmbed", "PatchMerging"]


class PatchEmbed(nn.Module):
    """Non-overlapping ``patch_size`` conv (``projection``) then an optional ``norm``.

    The image is zero-padded at the bottom/right to a multiple of ``patch_size``
    (MMCV's ``AdaptivePadding(padding='corner')``).

    Shapes: ``(B, in_channels, H, W)`` -> ``((B, h*w, embed_dims), (h, w))`` with
    ``h = ceil(H / patch_size)``.
    """

    def __init__(self, in_channels: int, embed_dims: int, patch_size: int,
                 norm_cfg: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        self.patch_size = patch_size
        self.projection = nn.Conv2d(in_channels, embed_dims, patch_size, stride=patch_size)
        self.norm = build_norm_layer(norm_cfg, embed_dims)[1] if norm_cfg is not None else None

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        p = self.patch_size
        h, w = x.shape[-2:]
        pad_b, pad_r = (p - h % p) % p, (p - w % p) % p
        if pad_b or pad_r:
            x = F.pad(x, (0, pad_r, 0, pad_b))
        x = self.projection(x)
        hw = (x.shape[2], x.shape[3])
        x = x.flatten(2).transpose(1, 2)
        if self.norm is not None:
            x = self.norm(x)
        return x, hw


class PatchMerging(nn.Module):
    """Concatenate each 2x2 neighbourhood, ``norm`` it, and project with ``reduction``.

    The ``4*C`` features are ordered as ``nn.Unfold`` orders them (MMDetection's layout):
    index ``c*4 + 2*dy + dx`` for channel ``c`` at offset ``(dy, dx)``. The official Swin
    and torchvision use ``[(0,0), (1,0), (0,1), (1,1)][k]*C + c`` instead; the converters
    permute their ``reduction`` and ``norm`` weights to this layout.
    Odd maps are zero-padded at the bottom/right.

    Shapes: ``x (B, H*W, C)``, ``hw_shape = (H, W)`` -> ``((B, ceil(H/2)*ceil(W/2), out), hw)``.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 2,
                 norm_cfg: Mapping[str, Any] | None = {"type": "LN"}) -> None:  # noqa: B006
        super().__init__()
        if stride != 2:
            raise ValueError(f"PatchMerging merges 2x2 neighbourhoods; stride must be 2, got {stride}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.norm = build_norm_layer(norm_cfg, 4 * in_channels)[1] if norm_cfg is not None else None
        self.reduction = nn.Linear(4 * in_channels, out_channels, bias=False)

    def forward(self, x: torch.Tensor, hw_shape: tuple[int, int]) -> tuple[torch.Tensor, tuple[int, int]]:
        b, _, c = x.shape
        h, w = hw_shape
        x = x.view(b, h, w, c)
        if h % 2 or w % 2:
            x = F.pad(x, (0, 0, 0, w % 2, 0, h % 2))
        ho, wo = (h + 1) // 2, (w + 1) // 2
        # (B, ho, 2, wo, 2, C) -> (B, ho, wo, C, 2, 2): channel-major, then dy, then dx
        x = x.view(b, ho, 2, wo, 2, c).permute(0, 1, 3, 5, 2, 4).reshape(b, ho * wo, 4 * c)
        if self.norm is not None:
            x = self.norm(x)
        return self.reduction(x), (ho, wo)
