"""Residual blocks and the residual layer of ResNet, with MMDetection's parameter names.

Checkpoint keys of one block: ``conv1``, ``bn1`` (or ``gn1``), ``conv2``, ``bn2``, [``conv3``,
``bn3``], ``downsample.0`` (conv) / ``downsample.1`` (norm), or ``downsample.1`` / ``downsample.2``
after an ``AvgPool2d`` when ``avg_down`` is set.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.utils.checkpoint as cp
from torch import nn

from segdet.api import build_norm_layer

__all__ = ["BasicBlock", "Bottleneck", "ResLayer", "make_conv"]


def make_conv(conv_cfg: Mapping[str, Any] | None, in_channels: int, out_channels: int,
              kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> nn.Conv2d:
    """A bias-free ``nn.Conv2d``; ``conv_cfg`` may be ``None`` or ``dict(type='Conv2d')``."""
    if conv_cfg is not None and conv_cfg.get("type", "Conv2d") not in ("Conv2d", "Conv"):
        raise ValueError(
            f"conv_cfg.type {conv_cfg.get('type')!r} is not supported by ResNet; use None or dict(type='Conv2d')"
        )
    return nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding,
                     dilation=dilation, bias=False)


class _Block(nn.Module):
    """What both residual blocks share: norm accessors, checkpointing and the residual sum."""

    expansion = 1

    def __init__(self, with_cp: bool, downsample: nn.Module | None) -> None:
        super().__init__()
        self.with_cp = with_cp
        self.downsample = downsample
        self.relu = nn.ReLU(inplace=True)
        self.norm_names: list[str] = []

    def _add_norm(self, norm_cfg: Mapping[str, Any], channels: int, index: int) -> None:
        name, layer = build_norm_layer(norm_cfg, channels, postfix=index)
        self.add_module(name, layer)
        self.norm_names.append(name)

    def norm(self, index: int) -> nn.Module:
        """The ``index``-th norm layer (1-based), whatever its name (``bn2``, ``gn2``)."""
        return getattr(self, self.norm_names[index - 1])

    def _residual(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _inner_forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        return self._residual(x) + identity

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.with_cp and x.requires_grad and torch.is_grad_enabled():
            out = cp.checkpoint(self._inner_forward, x, use_reentrant=False)
        else:
            out = self._inner_forward(x)
        return self.relu(out)


class BasicBlock(_Block):
    """Two 3x3 convolutions (ResNet-18/34); the stride and dilation sit on ``conv1``."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, dilation: int = 1,
                 downsample: nn.Module | None = None, style: str = "pytorch", with_cp: bool = False,
                 conv_cfg: Mapping[str, Any] | None = None,
                 norm_cfg: Mapping[str, Any] = {"type": "BN"}) -> None:  # noqa: B006  (never mutated)
        super().__init__(with_cp, downsample)
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
    """

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, dilation: int = 1,
                 downsample: nn.Module | None = None, style: str = "pytorch", with_cp: bool = False,
                 conv_cfg: Mapping[str, Any] | None = None,
                 norm_cfg: Mapping[str, Any] = {"type": "BN"}) -> None:  # noqa: B006  (never mutated)
        super().__init__(with_cp, downsample)
        if style not in ("pytorch", "caffe"):
            raise ValueError(f"style must be 'pytorch' or 'caffe', got {style!r}")
        conv1_stride, conv2_stride = (1, stride) if style == "pytorch" else (stride, 1)
        self.conv1 = make_conv(conv_cfg, inplanes, planes, 1, conv1_stride)
        self._add_norm(norm_cfg, planes, 1)
        self.conv2 = make_conv(conv_cfg, planes, planes, 3, conv2_stride, padding=dilation, dilation=dilation)
        self._add_norm(norm_cfg, planes, 2)
        self.conv3 = make_conv(conv_cfg, planes, planes * self.expansion, 1)
        self._add_norm(norm_cfg, planes * self.expansion, 3)
        self.stride = stride
        self.dilation = dilation

    def _residual(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.norm(1)(self.conv1(x)))
        out = self.relu(self.norm(2)(self.conv2(out)))
        return self.norm(3)(self.conv3(out))


class ResLayer(nn.Sequential):
    """``num_blocks`` blocks; the first one changes stride and width.

    Args:
        block: ``BasicBlock`` or ``Bottleneck``.
        inplanes: input channels; planes: width of the blocks (output ``planes * expansion``).
        num_blocks: number of blocks.
        stride: stride of the first block.
        dilation: dilation of the 3x3 convs.
        contract_dilation: the first block uses ``dilation // 2`` when ``dilation > 1``
            (MMSegmentation's dilated ResNets).
        avg_down: downsample the shortcut with ``AvgPool2d`` then a stride-1 1x1 conv
            (ResNet-D) instead of a strided 1x1 conv.
        style, with_cp, conv_cfg, norm_cfg: passed to every block.
    """

    def __init__(self, block: type[BasicBlock] | type[Bottleneck], inplanes: int, planes: int, num_blocks: int, stride: int = 1,
                 dilation: int = 1, contract_dilation: bool = False, avg_down: bool = False,
                 style: str = "pytorch", with_cp: bool = False, conv_cfg: Mapping[str, Any] | None = None,
                 norm_cfg: Mapping[str, Any] = {"type": "BN"}) -> None:  # noqa: B006  (never mutated)
        out_planes = planes * block.expansion
        downsample = None
        if stride != 1 or inplanes != out_planes:
            parts: list[nn.Module] = []
            conv_stride = stride
            if avg_down:
                # Kept even for stride 1 (an identity pool) so indices match MMDetection's keys.
                conv_stride = 1
                parts.append(nn.AvgPool2d(kernel_size=stride, stride=stride, ceil_mode=True,
                                          count_include_pad=False))
            parts.append(make_conv(conv_cfg, inplanes, out_planes, 1, conv_stride))
            parts.append(build_norm_layer(norm_cfg, out_planes)[1])
            downsample = nn.Sequential(*parts)
        first_dilation = dilation // 2 if (contract_dilation and dilation > 1) else dilation
        layers = [block(inplanes, planes, stride, first_dilation, downsample, style=style, with_cp=with_cp,
                        conv_cfg=conv_cfg, norm_cfg=norm_cfg)]
        for _ in range(1, num_blocks):
            layers.append(block(out_planes, planes, 1, dilation, None, style=style, with_cp=with_cp,
                                conv_cfg=conv_cfg, norm_cfg=norm_cfg))
        super().__init__(*layers)
