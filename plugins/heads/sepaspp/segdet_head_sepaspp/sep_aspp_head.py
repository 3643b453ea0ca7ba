"""DeepLabV3+ decode head (Chen et al., "Encoder-Decoder with Atrous Separable Convolution for
Semantic Image Segmentation")."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import torch
from torch import nn

from segdet.api import BaseDecodeHead, ConvModule, DepthwiseSeparableConvModule, LossCfg, resize

__all__ = ["DepthwiseSeparableASPPHead"]

_CE: Mapping[str, Any] = {"type": "CrossEntropyLoss", "use_sigmoid": False, "loss_weight": 1.0}


class DepthwiseSeparableASPPHead(BaseDecodeHead):
    """ASPP with depthwise-separable atrous branches on the deep map, then a decoder that upsamples
    it to the low-level map ``inputs[0]`` (stride 4 for a ResNet), concatenates that map's
    ``c1_bottleneck`` projection and refines both with two separable 3x3 convs.

    Args:
        c1_in_channels: channels of ``inputs[0]``; 0 disables the low-level decoder (then the output
            stays at the deep map's resolution).
        c1_channels: channels of the low-level projection (48 in DeepLabV3+).
        dilations: ASPP branches (default (1, 12, 24, 36)); a dilation of 1 is a plain 1x1 conv, the
            others depthwise-separable 3x3 atrous convs.
        in_channels, channels, num_classes, dropout_ratio, conv_cfg, norm_cfg, act_cfg, in_index,
        input_transform, loss_decode, ignore_index, sampler, align_corners, init_cfg: as
            :class:`segdet.api.BaseDecodeHead`.

    Keys (MMSegmentation's): ``image_pool.1.*``, ``aspp_modules.0.conv``/``.bn``,
    ``aspp_modules.<i>.depthwise_conv.*``/``.pointwise_conv.*``, ``bottleneck.depthwise_conv.*``,
    ``c1_bottleneck.*``, ``sep_bottleneck.{0,1}.{depthwise,pointwise}_conv.*``, ``conv_seg``.

    Shapes: ``inputs[in_index]`` (N, in_channels, h, w) and ``inputs[0]`` (N, c1_in_channels, h1, w1)
    -> logits (N, num_classes, h1, w1).

    Example::

        head = DepthwiseSeparableASPPHead(in_channels=16, channels=8, num_classes=4, in_index=3,
                                          c1_in_channels=4, c1_channels=4, dilations=(1, 2))
    """

    single_map: ClassVar[bool] = True

    def __init__(
        self,
        in_channels: int | Sequence[int],
        channels: int,
        *,
        num_classes: int,
        c1_in_channels: int,
        c1_channels: int,
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
        if c1_in_channels < 0 or c1_channels < 0:
            raise ValueError(f"c1_in_channels and c1_channels must be >= 0, got {c1_in_channels}, {c1_channels}")
        if isinstance(dilations, int) or not dilations or any(int(d) < 1 for d in dilations):
            raise ValueError(f"dilations must be a non-empty list of ints >= 1, got {dilations!r}")
        assert isinstance(self.in_channels, int)
        self.dilations = tuple(int(d) for d in dilations)
        self.c1_in_channels = c1_in_channels
        cin, ch = self.in_channels, self.channels
        plain: dict[str, Any] = {"conv_cfg": conv_cfg, "norm_cfg": norm_cfg, "act_cfg": act_cfg}
        sep: dict[str, Any] = {"norm_cfg": norm_cfg, "act_cfg": act_cfg}
        self.image_pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), ConvModule(cin, ch, 1, **plain))
        self.aspp_modules = nn.ModuleList(
            ConvModule(cin, ch, 1, **plain) if d == 1
            else DepthwiseSeparableConvModule(cin, ch, 3, padding=d, dilation=d, **sep)
            for d in self.dilations
        )
        self.bottleneck = DepthwiseSeparableConvModule((len(self.dilations) + 1) * ch, ch, 3, padding=1, **sep)
        self.c1_bottleneck: nn.Module | None = (
            ConvModule(c1_in_channels, c1_channels, 1, **plain) if c1_in_channels > 0 else None)
        # with no low-level branch MMSegmentation still sizes the first conv for channels + c1_channels
        self.sep_bottleneck = nn.Sequential(
            DepthwiseSeparableConvModule(ch + c1_channels, ch, 3, padding=1, **sep),
            DepthwiseSeparableConvModule(ch, ch, 3, padding=1, **sep),
        )

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        """Logits at the resolution of ``inputs[0]`` (or of the deep map without the c1 branch)."""
        x = self._transform_inputs(inputs)
        pooled = resize(self.image_pool(x), x.shape[2:], "bilinear", self.align_corners)
        out = self.bottleneck(torch.cat([pooled, *(branch(x) for branch in self.aspp_modules)], dim=1))
        if self.c1_bottleneck is not None:
            low = self.c1_bottleneck(inputs[0])
            out = torch.cat([resize(out, low.shape[2:], "bilinear", self.align_corners), low], dim=1)
        return self.cls_seg(self.sep_bottleneck(out))
