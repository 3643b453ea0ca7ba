"""Residual blocks and the residual layer of ResNet, with MMDetection's parameter names.

Checkpoint keys of one block: ``conv1``, ``bn1`` (or ``gn1``), ``conv2``, ``bn2``, [``conv3``,
``bn3``], ``downsample.0`` (conv) / ``downsample.1`` (norm), or ``downsample.1`` / ``downsample.2``
after an ``AvgPool2d`` when ``avg_down`` is set. A deformable ``conv2`` adds
``conv2.conv_offset.weight`` / ``.bias``.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Union

import torch
from torch import nn

from segdet.api import ResidualBlockBase, build_norm_layer

from .dcn import build_dcn, rename_legacy_offsets

__all__ = ["BasicBlock", "BlockType", "Bottleneck", "ResLayer", "make_conv", "make_conv3x3", "make_downsample"]

_BN: Mapping[str, Any] = {"type": "BN"}


def make_conv(conv_cfg: Mapping[str, Any] | None, in_channels: int, out_channels: int,
              kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1,
              groups: int = 1) -> nn.Conv2d:
    """A bias-free ``nn.Conv2d``; ``conv_cfg`` may be ``None`` or ``dict(type='Conv2d')``."""
    if conv_cfg is not None and conv_cfg.get("type", "Conv2d") not in ("Conv2d", "Conv"):
        raise ValueError(
            f"conv_cfg.type {conv_cfg.get('type')!r} is not supported by ResNet; use None or dict(type='Conv2d')"
            " (deformable convs go in dcn=dict(type='DCN'))"
        )
    return nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding,
                     dilation=dilation, groups=groups, bias=False)


def make_conv3x3(conv_cfg: Mapping[str, Any] | None, dcn: Mapping[str, Any] | None, in_channels: int,
                 out_channels: int, stride: int, dilation: int, groups: int = 1) -> nn.Module:
    """The 3x3 conv of a bottleneck: deformable when ``dcn`` is given, else a plain conv.

    ``dcn['fallback_on_stride']`` keeps a plain conv where the stride is above 1. (MMDetection pops
    that key from the dict it shares between blocks, so there only the first block of the first
    DCN stage falls back; no released config sets it.)
    """
    if dcn is not None and not (dcn.get("fallback_on_stride", False) and stride > 1):
        if conv_cfg is not None:
            raise ValueError("ResNet: conv_cfg must be None when dcn is given (the dcn dict names the conv)")
        return build_dcn(dcn, in_channels, out_channels, 3, stride=stride, padding=dilation,
                         dilation=dilation, groups=groups)
    return make_conv(conv_cfg, in_channels, out_channels, 3, stride, padding=dilation, dilation=dilation,
                     groups=groups)


class _Block(ResidualBlockBase):
    """segdet's residual block base, reading MMDetection 1.x DCN checkpoints too."""

    def _load_from_state_dict(self, state_dict: dict[str, Any], prefix: str, *args: Any) -> None:
        rename_legacy_offsets(self, state_dict, prefix)  # MMDetection 1.x DCN checkpoints
        super()._load_from_state_dict(state_dict, prefix, *args)


class BasicBlock(_Block):
    """Two 3x3 convolutions (ResNet-18/34); the stride and dilation sit on ``conv1``."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, dilation: int = 1,
                 downsample: nn.Module | None = None, style: str = "pytorch", with_cp: bool = False,
                 conv_cfg: Mapping[str, Any] | None = None, norm_cfg: Mapping[str, Any] = _BN,
                 dcn: Mapping[str, Any] | None = None) -> None:
        super().__init__(downsample=downsample, with_cp=with_cp)
        if dcn is not None:
            raise ValueError("ResNet: dcn is not implemented for BasicBlock (depth 18/34), as in MMDetection; "
                             "use depth >= 50 or dcn=None")
        self.conv1 = make_conv(conv_cfg, inplanes, planes, 3, stride, padding=dilation, dilation=dilation)
        self._add_norm(norm_cfg, planes, 1)
        self.conv2 = make_conv(conv_cfg, planes, planes, 3, 1, padding=1)
        self._add_norm(norm_cfg, planes, 2)
        self.stride = stride
        self.dilation = dilation

    def _residual(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.norm(1)(self.conv1(x)))
        return self.norm(2)(self.conv2(out))


class Bottleneck(_Block):
    """1x1 -> 3x3 -> 1x1 with 4x expansion (ResNet-50/101/152).

    ``style='pytorch'`` puts the stride on the 3x3 conv, ``'caffe'`` on the first 1x1 conv.
    ``dcn=dict(type='DCN'|'DCNv2', deform_groups=1)`` makes the 3x3 conv deformable.
    """

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, dilation: int = 1,
                 downsample: nn.Module | None = None, style: str = "pytorch", with_cp: bool = False,
                 conv_cfg: Mapping[str, Any] | None = None, norm_cfg: Mapping[str, Any] = _BN,
                 dcn: Mapping[str, Any] | None = None) -> None:
        super().__init__(downsample=downsample, with_cp=with_cp)
        self._build(inplanes, planes, planes, 1, stride, dilation, style, conv_cfg, norm_cfg, dcn)

    def _build(self, inplanes: int, planes: int, width: int, groups: int, stride: int, dilation: int,
               style: str, conv_cfg: Mapping[str, Any] | None, norm_cfg: Mapping[str, Any],
               dcn: Mapping[str, Any] | None) -> None:
        """Layers of a bottleneck whose inner convs are ``width`` wide in ``groups`` groups."""
        if style not in ("pytorch", "caffe"):
            raise ValueError(f"style must be 'pytorch' or 'caffe', got {style!r}")
        conv1_stride, conv2_stride = (1, stride) if style == "pytorch" else (stride, 1)
        self.conv1 = make_conv(conv_cfg, inplanes, width, 1, conv1_stride)
        self._add_norm(norm_cfg, width, 1)
        self.conv2 = make_conv3x3(conv_cfg, dcn, width, width, conv2_stride, dilation, groups)
        self._add_norm(norm_cfg, width, 2)
        self.conv3 = make_conv(conv_cfg, width, planes * self.expansion, 1)
        self._add_norm(norm_cfg, planes * self.expansion, 3)
        self.stride = stride
        self.dilation = dilation

    def _residual(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.norm(1)(self.conv1(x)))
        out = self.relu(self.norm(2)(self.conv2(out)))
        return self.norm(3)(self.conv3(out))


#: A residual block class: ``BasicBlock``, ``Bottleneck`` or one of their subclasses.
BlockType = Union[type[BasicBlock], type[Bottleneck]]


def make_downsample(inplanes: int, out_planes: int, stride: int, avg_down: bool,
                    conv_cfg: Mapping[str, Any] | None, norm_cfg: Mapping[str, Any]) -> nn.Sequential:
    """Shortcut projection: strided 1x1 conv + norm, or ``AvgPool2d`` + 1x1 conv + norm (ResNet-D)."""
    parts: list[nn.Module] = []
    conv_stride = stride
    if avg_down:
        # Kept even for stride 1 (an identity pool) so indices match MMDetection's keys.
        conv_stride = 1
        parts.append(nn.AvgPool2d(kernel_size=stride, stride=stride, ceil_mode=True, count_include_pad=False))
    parts.append(make_conv(conv_cfg, inplanes, out_planes, 1, conv_stride))
    parts.append(build_norm_layer(norm_cfg, out_planes)[1])
    return nn.Sequential(*parts)


class ResLayer(nn.Sequential):
    """``num_blocks`` blocks; the first one changes stride and width.

    Args:
        block: a block class (``BasicBlock``, ``Bottleneck`` or a subclass).
        inplanes: input channels; planes: width of the blocks (output ``planes * expansion``).
        num_blocks: number of blocks.
        stride: stride of the first block.
        dilation: dilation of the 3x3 convs.
        contract_dilation: the first block uses ``dilation // 2`` when ``dilation > 1``
            (MMSegmentation's dilated ResNets).
        multi_grid: dilation of each block, overriding ``dilation`` and ``contract_dilation``
            (MMSegmentation); one entry per block.
        avg_down: downsample the shortcut with ``AvgPool2d`` then a stride-1 1x1 conv
            (ResNet-D) instead of a strided 1x1 conv.
        style, with_cp, conv_cfg, norm_cfg: passed to every block.
        block_kwargs: further keyword arguments of every block (``dcn``, ``groups``, ...).
    """

    def __init__(self, block: BlockType, inplanes: int, planes: int, num_blocks: int, stride: int = 1,
                 dilation: int = 1, contract_dilation: bool = False, avg_down: bool = False,
                 style: str = "pytorch", with_cp: bool = False, conv_cfg: Mapping[str, Any] | None = None,
                 norm_cfg: Mapping[str, Any] = _BN, multi_grid: Sequence[int] | None = None,
                 block_kwargs: Mapping[str, Any] | None = None) -> None:
        out_planes = planes * block.expansion
        downsample = None
        if stride != 1 or inplanes != out_planes:
            downsample = make_downsample(inplanes, out_planes, stride, avg_down, conv_cfg, norm_cfg)
        if multi_grid is not None:
            if len(multi_grid) != num_blocks:
                raise ValueError(f"ResNet multi_grid {tuple(multi_grid)} needs one dilation per block of the "
                                 f"last stage ({num_blocks} blocks)")
            dilations = [int(d) for d in multi_grid]
        else:
            first = dilation // 2 if (contract_dilation and dilation > 1) else dilation
            dilations = [first] + [dilation] * (num_blocks - 1)
        extra = dict(block_kwargs or {})
        layers = []
        for i in range(num_blocks):
            layers.append(block(inplanes if i == 0 else out_planes, planes, stride if i == 0 else 1, dilations[i],
                                downsample if i == 0 else None, style=style, with_cp=with_cp,
                                conv_cfg=conv_cfg, norm_cfg=norm_cfg, **extra))
        super().__init__(*layers)
