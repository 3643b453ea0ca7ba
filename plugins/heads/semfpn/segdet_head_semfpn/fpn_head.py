"""Semantic FPN decode head (Kirillov et al., "Panoptic Feature Pyramid Networks")."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from segdet.api import BaseDecodeHead, ConvModule, LossCfg, resize

__all__ = ["FPNHead"]

_CE: Mapping[str, Any] = {"type": "CrossEntropyLoss", "use_sigmoid": False, "loss_weight": 1.0}


class _Upsample2x(nn.Module):
    """Bilinear x2 upsampling; a module (without parameters) so ``scale_heads`` indices match MMSegmentation's."""

    def __init__(self, align_corners: bool) -> None:
        super().__init__()
        self.align_corners = align_corners

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return resize(x, (x.shape[2] * 2, x.shape[3] * 2), "bilinear", self.align_corners)


class FPNHead(BaseDecodeHead):
    """Each pyramid level goes through 3x3 convs, each followed by a x2 upsampling, until it reaches
    the finest level's stride; the levels are summed and classified.

    Level ``i`` gets ``max(1, log2(feature_strides[i] / feature_strides[0]))`` convs (the first
    ``in_channels[i] -> channels``), and an upsampling after each when its stride is not the finest.
    The head always takes several maps (MMSegmentation's ``input_transform='multiple_select'``).

    Args:
        feature_strides: stride of each selected map, finest first, powers of 2 (e.g. [4, 8, 16, 32]).
        in_channels: list, one per selected map.
        in_index: list of indices into the inputs, as long as ``in_channels``.
        channels, num_classes, dropout_ratio, conv_cfg, norm_cfg, act_cfg, loss_decode, ignore_index,
        sampler, align_corners, init_cfg: as :class:`segdet.api.BaseDecodeHead`.

    Keys (MMSegmentation's): ``scale_heads.<i>.<2k>.conv``/``.bn`` (odd indices are the upsamplings),
    ``conv_seg``.

    Shapes: maps (N, in_channels[i], H / s_i, W / s_i) -> logits (N, num_classes, H / s_0, W / s_0).

    Example::

        head = FPNHead(in_channels=[8, 8], in_index=[0, 1], feature_strides=[4, 8], channels=8, num_classes=3)
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        channels: int,
        *,
        num_classes: int,
        feature_strides: Sequence[int],
        in_index: Sequence[int] = (0, 1, 2, 3),
        dropout_ratio: float = 0.1,
        conv_cfg: Mapping[str, Any] | None = None,
        norm_cfg: Mapping[str, Any] | None = None,
        act_cfg: Mapping[str, Any] | None = {"type": "ReLU"},  # noqa: B006  (never mutated)
        loss_decode: LossCfg = _CE,
        ignore_index: int = 255,
        sampler: Mapping[str, Any] | None = None,
        align_corners: bool = False,
        init_cfg: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        super().__init__(
            in_channels, channels, num_classes=num_classes, dropout_ratio=dropout_ratio, conv_cfg=conv_cfg,
            norm_cfg=norm_cfg, act_cfg=act_cfg, in_index=in_index, input_transform="multiple_select",
            loss_decode=loss_decode, ignore_index=ignore_index, sampler=sampler, align_corners=align_corners,
            init_cfg=init_cfg)
        assert isinstance(self.in_channels, list)
        strides = [int(s) for s in feature_strides]
        if len(strides) != len(self.in_channels):
            raise ValueError(f"FPNHead: feature_strides {strides} and in_channels {self.in_channels} "
                             "must have the same length")
        if min(strides) != strides[0] or any(s & (s - 1) for s in strides):
            raise ValueError(f"FPNHead: feature_strides must be powers of 2 with the finest first, got {strides}")
        self.feature_strides = strides
        self.scale_heads = nn.ModuleList()
        for level, stride in enumerate(strides):
            steps = max(1, int(math.log2(stride) - math.log2(strides[0])))
            layers: list[nn.Module] = []
            for k in range(steps):
                layers.append(ConvModule(self.in_channels[level] if k == 0 else self.channels, self.channels, 3,
                                         padding=1, conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg))
                if stride != strides[0]:
                    layers.append(_Upsample2x(align_corners))
            self.scale_heads.append(nn.Sequential(*layers))

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        """Logits (N, num_classes) at the finest selected map's resolution."""
        maps = self._transform_inputs(inputs)
        out = self.scale_heads[0](maps[0])
        for head, x in zip(list(self.scale_heads)[1:], maps[1:]):
            out = out + resize(head(x), out.shape[2:], "bilinear", self.align_corners)
        return self.cls_seg(out)
