"""Res2Net backbone (``scales``, ``base_width``) with MMDetection's keys.

A Bottle2neck splits its 1x1-conv output into ``scales`` groups of ``width =
floor(planes * base_width / base_channels)`` channels; groups 1..scales-1 go through their own
3x3 conv (``convs.i``, ``bns.i``), each fed the previous group's output plus its own slice
('normal' blocks) or its slice alone (the first, 'stage' block of a stage, whose last slice is
average-pooled when strided). Keys of a block: ``conv1``, ``bn1`` (``width * scales``),
``convs.{0..scales-2}``, ``bns.{0..scales-2}``, ``conv3``, ``bn3``; shortcuts are always
``AvgPool2d`` + 1x1 conv + norm (``downsample.1`` / ``downsample.2``); the stem is ResNetV1d's.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import torch
from torch import nn

from segdet.api import build_norm_layer

from .blocks import BlockType, Bottleneck, _Block, make_conv, make_conv3x3, make_downsample
from .resnet import ResNet

__all__ = ["Bottle2neck", "Res2Layer", "Res2Net"]

_BN: Mapping[str, Any] = {"type": "BN"}


class Bottle2neck(Bottleneck):
    """Res2Net bottleneck: hierarchical 3x3 convs over ``scales`` channel groups.

    Args: those of :class:`Bottleneck`, plus ``scales`` (4, at least 2), ``base_width`` (26),
    ``base_channels`` (64) and ``stage_type`` (``'normal'``, or ``'stage'`` for a stage's first block).
    """

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, dilation: int = 1,
                 downsample: nn.Module | None = None, style: str = "pytorch", with_cp: bool = False,
                 conv_cfg: Mapping[str, Any] | None = None, norm_cfg: Mapping[str, Any] = _BN,
                 dcn: Mapping[str, Any] | None = None, scales: int = 4, base_width: int = 26,
                 base_channels: int = 64, stage_type: str = "normal") -> None:
        _Block.__init__(self, downsample=downsample, with_cp=with_cp)
        if scales < 2:
            raise ValueError(f"Res2Net scales must be at least 2 (1 is a plain ResNet), got {scales}")
        if stage_type not in ("normal", "stage"):
            raise ValueError(f"Bottle2neck stage_type must be 'normal' or 'stage', got {stage_type!r}")
        if style not in ("pytorch", "caffe"):
            raise ValueError(f"style must be 'pytorch' or 'caffe', got {style!r}")
        conv1_stride, conv2_stride = (1, stride) if style == "pytorch" else (stride, 1)
        width = int(math.floor(planes * (base_width / base_channels)))
        self.conv1 = make_conv(conv_cfg, inplanes, width * scales, 1, conv1_stride)
        self._add_norm(norm_cfg, width * scales, 1)
        if stage_type == "stage" and conv2_stride != 1:
            self.pool = nn.AvgPool2d(kernel_size=3, stride=conv2_stride, padding=1)
        self.convs = nn.ModuleList(
            make_conv3x3(conv_cfg, dcn, width, width, conv2_stride, dilation) for _ in range(scales - 1))
        self.bns = nn.ModuleList(
            build_norm_layer(norm_cfg, width, postfix=i + 1)[1] for i in range(scales - 1))
        self.conv3 = make_conv(conv_cfg, width * scales, planes * self.expansion, 1)
        self._add_norm(norm_cfg, planes * self.expansion, 3)
        self.scales = scales
        self.width = width
        self.stage_type = stage_type
        self.conv2_stride = conv2_stride
        self.stride = stride
        self.dilation = dilation

    def _residual(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(getattr(self, self.norm_names[0])(self.conv1(x)))
        spx = torch.split(out, self.width, dim=1)
        sp = self.relu(self.bns[0](self.convs[0](spx[0].contiguous())))
        parts = [sp]
        for i in range(1, self.scales - 1):
            sp = spx[i] if self.stage_type == "stage" else sp + spx[i]
            sp = self.relu(self.bns[i](self.convs[i](sp.contiguous())))
            parts.append(sp)
        last = spx[self.scales - 1]
        if self.stage_type == "stage" and self.conv2_stride != 1:
            last = self.pool(last)
        parts.append(last)
        out = self.conv3(torch.cat(parts, dim=1))
        return getattr(self, self.norm_names[1])(out)


class Res2Layer(nn.Sequential):
    """One Res2Net stage: a 'stage' Bottle2neck (with an average-pool shortcut) then 'normal' ones.

    Args: ``inplanes``, ``planes``, ``num_blocks``, ``stride``, ``dilation`` as :class:`ResLayer`;
    ``with_cp``, ``conv_cfg``, ``norm_cfg``, ``dcn``, ``scales``, ``base_width``,
    ``base_channels`` passed to every block.
    """

    def __init__(self, inplanes: int, planes: int, num_blocks: int, stride: int = 1, dilation: int = 1,
                 with_cp: bool = False, conv_cfg: Mapping[str, Any] | None = None,
                 norm_cfg: Mapping[str, Any] = _BN, dcn: Mapping[str, Any] | None = None, scales: int = 4,
                 base_width: int = 26, base_channels: int = 64) -> None:
        out_planes = planes * Bottle2neck.expansion
        downsample = None
        if stride != 1 or inplanes != out_planes:
            downsample = make_downsample(inplanes, out_planes, stride, True, conv_cfg, norm_cfg)
        common: dict[str, Any] = dict(style="pytorch", with_cp=with_cp, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                                      dcn=dcn, scales=scales, base_width=base_width, base_channels=base_channels)
        layers = [Bottle2neck(inplanes, planes, stride, dilation, downsample, stage_type="stage", **common)]
        layers += [Bottle2neck(out_planes, planes, 1, dilation, None, **common) for _ in range(1, num_blocks)]
        super().__init__(*layers)


class Res2Net(ResNet):
    """Res2Net-50/101/152 (e.g. ``res2net101_v1d_26w_4s``: ``scales=4, base_width=26``).

    Always a ResNet-D (deep stem, average-pool shortcuts) of ``style='pytorch'``, as in MMDetection,
    which ignores other values of those three; here they are errors.

    Args:
        scales: channel groups per block (4).
        base_width: channels per group at ``base_channels`` width (26).
        Every other argument is :class:`ResNet`'s (``depth`` in 50, 101, 152).

    Example:
        >>> net = Res2Net(depth=50, scales=4, base_width=4, base_channels=16).eval()
        >>> [tuple(o.shape) for o in net(torch.rand(1, 3, 32, 32))]
        [(1, 64, 8, 8), (1, 128, 4, 4), (1, 256, 2, 2), (1, 512, 1, 1)]
    """

    arch_settings: ClassVar[dict[int, tuple[BlockType, tuple[int, ...]]]] = {
        50: (Bottle2neck, (3, 4, 6, 3)),
        101: (Bottle2neck, (3, 4, 23, 3)),
        152: (Bottle2neck, (3, 8, 36, 3)),
    }

    def __init__(
        self,
        depth: int,
        scales: int = 4,
        base_width: int = 26,
        in_channels: int = 3,
        stem_channels: int | None = None,
        base_channels: int = 64,
        num_stages: int = 4,
        strides: Sequence[int] = (1, 2, 2, 2),
        dilations: Sequence[int] = (1, 1, 1, 1),
        out_indices: Sequence[int] = (0, 1, 2, 3),
        style: str = "pytorch",
        deep_stem: bool = True,
        avg_down: bool = True,
        frozen_stages: int = -1,
        conv_cfg: Mapping[str, Any] | None = None,
        norm_cfg: Mapping[str, Any] = {"type": "BN", "requires_grad": True},  # noqa: B006  (never mutated)
        norm_eval: bool = True,
        dcn: Mapping[str, Any] | None = None,
        stage_with_dcn: Sequence[bool] = (False, False, False, False),
        with_cp: bool = False,
        zero_init_residual: bool = True,
        init_cfg: Mapping[str, Any] | None = None,
        pretrained: str | None = None,
    ) -> None:
        if style != "pytorch" or not deep_stem or not avg_down:
            raise ValueError(
                "Res2Net is always style='pytorch', deep_stem=True, avg_down=True; got "
                f"style={style!r}, deep_stem={deep_stem}, avg_down={avg_down}: drop these keys from the config")
        if scales < 2:
            raise ValueError(f"Res2Net scales must be at least 2 (1 is a plain ResNet), got {scales}")
        self.scales = scales  # read by _make_res_layer during ResNet.__init__
        self.base_width = base_width
        super().__init__(
            depth=depth, in_channels=in_channels, stem_channels=stem_channels, base_channels=base_channels,
            num_stages=num_stages, strides=strides, dilations=dilations, out_indices=out_indices,
            style="pytorch", deep_stem=True, avg_down=True, frozen_stages=frozen_stages, conv_cfg=conv_cfg,
            norm_cfg=norm_cfg, norm_eval=norm_eval, dcn=dcn, stage_with_dcn=stage_with_dcn, with_cp=with_cp,
            zero_init_residual=zero_init_residual, init_cfg=init_cfg, pretrained=pretrained)

    def _make_res_layer(self, index: int, inplanes: int, planes: int, num_blocks: int,
                        conv_cfg: Mapping[str, Any] | None) -> nn.Module:
        return Res2Layer(inplanes, planes, num_blocks, stride=self.stage_strides[index],
                         dilation=self.dilations[index], with_cp=self.with_cp, conv_cfg=conv_cfg,
                         norm_cfg=self.norm_cfg, dcn=self._stage_dcn(index), scales=self.scales,
                         base_width=self.base_width, base_channels=self.base_channels)
