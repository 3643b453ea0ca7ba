"""The two residual blocks HRNet stacks (``'BASIC'``, ``'BOTTLENECK'``), with MMDetection's keys.

Own blocks rather than an import from segdet-backbone-resnet (a plugin depends on segdet only), on
``segdet.api.ResidualBlockBase``.
Keys: ``conv1``, ``bn1``, ``conv2``, ``bn2``, [``conv3``, ``bn3``], ``downsample.0`` / ``.1``.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Union

import torch
from torch import nn

from segdet.api import ResidualBlockBase

__all__ = ["BasicBlock", "BlockType", "Bottleneck", "conv_layer"]


def conv_layer(conv_cfg: Mapping[str, Any] | None, in_channels: int, out_channels: int, kernel_size: int,
               stride: int = 1, padding: int = 0) -> nn.Conv2d:
    """A bias-free ``nn.Conv2d``; ``conv_cfg`` may be ``None`` or ``dict(type='Conv2d')``."""
    if conv_cfg is not None and conv_cfg.get("type", "Conv2d") not in ("Conv2d", "Conv"):
        raise ValueError(f"HRNet conv_cfg.type {conv_cfg.get('type')!r} is not supported; use None or "
                         "dict(type='Conv2d')")
    return nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=False)


class BasicBlock(ResidualBlockBase):
    """3x3 -> 3x3 residual block (HRNet branches); ``stride`` on the first conv."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
                 with_cp: bool = False, norm_cfg: Mapping[str, Any] = {"type": "BN"},  # noqa: B006
                 conv_cfg: Mapping[str, Any] | None = None) -> None:
        super().__init__(downsample=downsample, with_cp=with_cp)
        self.conv1 = conv_layer(conv_cfg, inplanes, planes, 3, stride, 1)
        self._add_norm(norm_cfg, planes, 1)
        self.conv2 = conv_layer(conv_cfg, planes, planes, 3, 1, 1)
        self._add_norm(norm_cfg, planes, 2)

    def _residual(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(getattr(self, self.norm_names[0])(self.conv1(x)))
        return getattr(self, self.norm_names[1])(self.conv2(out))


class Bottleneck(ResidualBlockBase):
    """1x1 -> 3x3 -> 1x1 block with 4x expansion (HRNet's stage 1); ``stride`` on the 3x3 conv."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
                 with_cp: bool = False, norm_cfg: Mapping[str, Any] = {"type": "BN"},  # noqa: B006
                 conv_cfg: Mapping[str, Any] | None = None) -> None:
        super().__init__(downsample=downsample, with_cp=with_cp)
        self.conv1 = conv_layer(conv_cfg, inplanes, planes, 1)
        self._add_norm(norm_cfg, planes, 1)
        self.conv2 = conv_layer(conv_cfg, planes, planes, 3, stride, 1)
        self._add_norm(norm_cfg, planes, 2)
        self.conv3 = conv_layer(conv_cfg, planes, planes * self.expansion, 1)
        self._add_norm(norm_cfg, planes * self.expansion, 3)

    def _residual(self, x: torch.Tensor) -> torch.Tensor:
        n1, n2, n3 = (getattr(self, n) for n in self.norm_names)
        out = self.relu(n1(self.conv1(x)))
        out = self.relu(n2(self.conv2(out)))
        return n3(self.conv3(out))


BlockType = Union[type[BasicBlock], type[Bottleneck]]
