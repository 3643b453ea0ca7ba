"""UPerNet decode head (Xiao et al., "Unified Perceptual Parsing for Scene Understanding")."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from segdet.api import PPM, BaseDecodeHead, ConvModule, LossCfg, resize

__all__ = ["UPerHead"]

_CE: Mapping[str, Any] = {"type": "CrossEntropyLoss", "use_sigmoid": False, "loss_weight": 1.0}


class UPerHead(BaseDecodeHead):
    """PPM on the coarsest map, an FPN top-down path over all maps, their fusion, the classifier.

    Always takes several maps (``input_transform='multiple_select'``).

    Args:
        pool_scales: of the PPM on the last map (default (1, 2, 3, 6)).
        in_channels: channels of each selected map, e.g. ``[256, 512, 1024, 2048]``.
        in_index: which maps to take (default ``(0, 1, 2, 3)``).
        channels, num_classes, dropout_ratio, conv_cfg, norm_cfg, act_cfg, loss_decode, ignore_index,
        sampler, align_corners, init_cfg: as :class:`~segdet.api.BaseDecodeHead`.

    Keys: ``psp_modules.*``, ``bottleneck.*``, ``lateral_convs.<i>.*``, ``fpn_convs.<i>.*``,
    ``fpn_bottleneck.*``, ``conv_seg`` (MMSegmentation's).

    Shapes: maps (N, in_channels[i], h_i, w_i), finest first -> logits (N, num_classes, h_0, w_0).
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        channels: int,
        *,
        num_classes: int,
        pool_scales: Sequence[int] = (1, 2, 3, 6),
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
        self.pool_scales = tuple(pool_scales)
        conv_kw: dict[str, Any] = {"conv_cfg": conv_cfg, "norm_cfg": norm_cfg, "act_cfg": act_cfg}
        top = self.in_channels[-1]
        self.psp_modules = PPM(self.pool_scales, top, self.channels, align_corners=align_corners, **conv_kw)
        self.bottleneck = ConvModule(top + len(self.pool_scales) * self.channels, self.channels, 3, padding=1,
                                     **conv_kw)
        self.lateral_convs = nn.ModuleList(
            ConvModule(c, self.channels, 1, inplace=False, **conv_kw) for c in self.in_channels[:-1])
        self.fpn_convs = nn.ModuleList(
            ConvModule(self.channels, self.channels, 3, padding=1, inplace=False, **conv_kw)
            for _ in self.in_channels[:-1])
        self.fpn_bottleneck = ConvModule(len(self.in_channels) * self.channels, self.channels, 3, padding=1,
                                         **conv_kw)

    def psp_forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        """PPM + bottleneck on the coarsest map: (N, channels, h_last, w_last)."""
        x = inputs[-1]
        return self.bottleneck(torch.cat([x, *self.psp_modules(x)], dim=1))

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        """Logits at the finest selected map's size."""
        maps = self._transform_inputs(inputs)
        laterals = [conv(maps[i]) for i, conv in enumerate(self.lateral_convs)]
        laterals.append(self.psp_forward(maps))
        for i in range(len(laterals) - 1, 0, -1):  # top-down: add the coarser map, upsampled
            laterals[i - 1] = laterals[i - 1] + resize(laterals[i], laterals[i - 1].shape[2:], "bilinear",
                                                       self.align_corners)
        outs = [conv(laterals[i]) for i, conv in enumerate(self.fpn_convs)]
        outs.append(laterals[-1])
        size = outs[0].shape[2:]
        outs = [outs[0]] + [resize(o, size, "bilinear", self.align_corners) for o in outs[1:]]
        return self.cls_seg(self.fpn_bottleneck(torch.cat(outs, dim=1)))
