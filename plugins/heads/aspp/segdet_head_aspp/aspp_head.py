"""DeepLabV3 decode head (Chen et al., "Rethinking Atrous Convolution for Semantic Image Segmentation")."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import torch
from torch import nn

from segdet.api import BaseDecodeHead, ConvModule, LossCfg, resize

__all__ = ["ASPPHead"]

_CE: Mapping[str, Any] = {"type": "CrossEntropyLoss", "use_sigmoid": False, "loss_weight": 1.0}


class ASPPHead(BaseDecodeHead):
    """Atrous spatial pyramid pooling: an image-pool branch and one branch per dilation, concatenated
    and fused by a 3x3 conv.

    Branch ``i`` of ``aspp_modules`` is a 1x1 conv when ``dilations[i] == 1``, else a 3x3 conv with
    that dilation and padding (the output keeps the input size).

    Args:
        dilations: one branch per entry (default (1, 12, 24, 36), output stride 8).
        in_channels, channels, num_classes, dropout_ratio, conv_cfg, norm_cfg, act_cfg, in_index,
        input_transform, loss_decode, ignore_index, sampler, align_corners, init_cfg: as
            :class:`segdet.api.BaseDecodeHead`.

    Keys (MMSegmentation's): ``image_pool.1.conv``/``.bn``, ``aspp_modules.<i>.conv``/``.bn``,
    ``bottleneck.conv``/``.bn``, ``conv_seg``.

    Shapes: selected input (N, in_channels, h, w) -> logits (N, num_classes, h, w).

    Example::

        head = ASPPHead(in_channels=16, channels=8, num_classes=4, dilations=(1, 2, 3))
    """

    single_map: ClassVar[bool] = True

    def __init__(
        self,
        in_channels: int | Sequence[int],
        channels: int,
        *,
        num_classes: int,
        dilations: Sequence[int] = (1, 12, 24, 36),
        dropout_ratio: float = 0.1,
        conv_cfg: Mapping[str, Any] | None = None,
        norm_cfg: Mapping[str, Any] | None = None,
        act_cfg: Mapping[str, Any] | None = {"type": "ReLU"},  # noqa: B006  (never mutated)
        in_index: int | Sequence[int] = -1,
        input_transform: str | None = None,
        loss_decode: LossCfg = _CE,
        ignore_index: int = 255,
        sampler: Mapping[str, Any] | None = None,
        align_corners: bool = False,
        init_cfg: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        super().__init__(
            in_channels, channels, num_classes=num_classes, dropout_ratio=dropout_ratio, conv_cfg=conv_cfg,
            norm_cfg=norm_cfg, act_cfg=act_cfg, in_index=in_index, input_transform=input_transform,
            loss_decode=loss_decode, ignore_index=ignore_index, sampler=sampler, align_corners=align_corners,
            init_cfg=init_cfg)
        if isinstance(dilations, int) or not dilations or any(int(d) < 1 for d in dilations):
            raise ValueError(f"ASPPHead: dilations must be a non-empty list of ints >= 1, got {dilations!r}")
        assert isinstance(self.in_channels, int)
        self.dilations = tuple(int(d) for d in dilations)
        cfgs: dict[str, Any] = {"conv_cfg": conv_cfg, "norm_cfg": norm_cfg, "act_cfg": act_cfg}
        self.image_pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), ConvModule(self.in_channels, self.channels, 1, **cfgs))
        self.aspp_modules = nn.ModuleList(
            ConvModule(self.in_channels, self.channels, 1 if d == 1 else 3, padding=0 if d == 1 else d,
                       dilation=d, **cfgs)
            for d in self.dilations
        )
        self.bottleneck = ConvModule((len(self.dilations) + 1) * self.channels, self.channels, 3, padding=1, **cfgs)

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        """Logits (N, num_classes, h, w) from the selected input map."""
        x = self._transform_inputs(inputs)
        pooled = resize(self.image_pool(x), x.shape[2:], "bilinear", self.align_corners)
        feat = self.bottleneck(torch.cat([pooled, *(branch(x) for branch in self.aspp_modules)], dim=1))
        return self.cls_seg(feat)
