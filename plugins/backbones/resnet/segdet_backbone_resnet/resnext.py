"""ResNeXt backbone: ResNet with grouped 3x3 convolutions (``groups``, ``base_width``), MMDetection keys.

A stage of width ``planes`` (64, 128, 256, 512 for ``base_channels=64``) has inner convs
``floor(planes * base_width / base_channels) * groups`` wide, e.g. ResNeXt-101 32x4d: 128, 256,
512, 1024; outputs stay ``planes * 4``. Keys are ResNet's (``layer1.0.conv2.weight`` of shape
``(128, 4, 3, 3)`` for 32x4d).
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from torch import nn

from .blocks import BlockType, Bottleneck, ResLayer, _Block
from .resnet import ResNet

__all__ = ["ResNeXt", "ResNeXtBottleneck"]

_BN: Mapping[str, Any] = {"type": "BN"}


class ResNeXtBottleneck(Bottleneck):
    """Bottleneck whose 3x3 conv has ``groups`` groups of ``base_width`` channels per ``base_channels``.

    Args: those of :class:`Bottleneck`, plus ``groups`` (1 = a plain ResNet bottleneck),
    ``base_width`` (4) and ``base_channels`` (64): the inner width is ``planes`` when
    ``groups == 1``, else ``floor(planes * base_width / base_channels) * groups``.
    """

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, dilation: int = 1,
                 downsample: nn.Module | None = None, style: str = "pytorch", with_cp: bool = False,
                 conv_cfg: Mapping[str, Any] | None = None, norm_cfg: Mapping[str, Any] = _BN,
                 dcn: Mapping[str, Any] | None = None, groups: int = 1, base_width: int = 4,
                 base_channels: int = 64) -> None:
        _Block.__init__(self, downsample=downsample, with_cp=with_cp)
        # The float expression is MMDetection's; RegNet's widths depend on its rounding.
        width = planes if groups == 1 else math.floor(planes * (base_width / base_channels)) * groups
        self._build(inplanes, planes, width, groups, stride, dilation, style, conv_cfg, norm_cfg, dcn)
        self.groups = groups


class ResNeXt(ResNet):
    """ResNeXt-50/101/152 (``groups`` x ``base_width``d, e.g. 32x4d, 64x4d).

    Args:
        groups: cardinality of the grouped 3x3 convs (1).
        base_width: channels per group at ``base_channels`` width (4).
        Every other argument is :class:`ResNet`'s (``depth`` in 50, 101, 152; ``dcn`` makes the
        grouped 3x3 convs deformable).

    Example:
        >>> net = ResNeXt(depth=50, groups=4, base_width=2, base_channels=8).eval()
        >>> net.layer1[0].conv2.weight.shape
        torch.Size([8, 2, 3, 3])
    """

    arch_settings: ClassVar[dict[int, tuple[BlockType, tuple[int, ...]]]] = {
        50: (ResNeXtBottleneck, (3, 4, 6, 3)),
        101: (ResNeXtBottleneck, (3, 4, 23, 3)),
        152: (ResNeXtBottleneck, (3, 8, 36, 3)),
    }

    def __init__(
        self,
        depth: int,
        groups: int = 1,
        base_width: int = 4,
        in_channels: int = 3,
        stem_channels: int | None = None,
        base_channels: int = 64,
        num_stages: int = 4,
        strides: Sequence[int] = (1, 2, 2, 2),
        dilations: Sequence[int] = (1, 1, 1, 1),
        out_indices: Sequence[int] = (0, 1, 2, 3),
        style: str = "pytorch",
        deep_stem: bool = False,
        avg_down: bool = False,
        frozen_stages: int = -1,
        conv_cfg: Mapping[str, Any] | None = None,
        norm_cfg: Mapping[str, Any] = {"type": "BN", "requires_grad": True},  # noqa: B006  (never mutated)
        norm_eval: bool = True,
        dcn: Mapping[str, Any] | None = None,
        stage_with_dcn: Sequence[bool] = (False, False, False, False),
        with_cp: bool = False,
        zero_init_residual: bool = True,
        multi_grid: Sequence[int] | None = None,
        contract_dilation: bool = False,
        init_cfg: Mapping[str, Any] | None = None,
        pretrained: str | None = None,
    ) -> None:
        if groups < 1 or base_width < 1:
            raise ValueError(f"ResNeXt groups and base_width must be positive, got {groups} and {base_width}")
        self.groups = groups  # read by _make_res_layer during ResNet.__init__
        self.base_width = base_width
        super().__init__(
            depth=depth, in_channels=in_channels, stem_channels=stem_channels, base_channels=base_channels,
            num_stages=num_stages, strides=strides, dilations=dilations, out_indices=out_indices, style=style,
            deep_stem=deep_stem, avg_down=avg_down, frozen_stages=frozen_stages, conv_cfg=conv_cfg,
            norm_cfg=norm_cfg, norm_eval=norm_eval, dcn=dcn, stage_with_dcn=stage_with_dcn, with_cp=with_cp,
            zero_init_residual=zero_init_residual, multi_grid=multi_grid, contract_dilation=contract_dilation,
            init_cfg=init_cfg, pretrained=pretrained)

    def _make_res_layer(self, index: int, inplanes: int, planes: int, num_blocks: int,
                        conv_cfg: Mapping[str, Any] | None) -> nn.Module:
        kwargs: dict[str, Any] = {"groups": self.groups, "base_width": self.base_width,
                                  "base_channels": self.base_channels}
        dcn = self._stage_dcn(index)
        if dcn is not None:
            kwargs["dcn"] = dcn
        return ResLayer(self.block, inplanes, planes, num_blocks, stride=self.stage_strides[index],
                        dilation=self.dilations[index], contract_dilation=self.contract_dilation,
                        avg_down=self.avg_down, style=self.style, with_cp=self.with_cp, conv_cfg=conv_cfg,
                        norm_cfg=self.norm_cfg,
                        multi_grid=self.multi_grid if index == len(self.stage_blocks) - 1 else None,
                        block_kwargs=kwargs)
