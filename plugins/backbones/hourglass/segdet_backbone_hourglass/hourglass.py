"""HourglassNet: the stacked hourglass backbone of CornerNet (Newell et al. 2016, Law & Deng 2018).

Parameter names follow MMDetection 2.x (``mmdet/models/backbones/hourglass.py``) so its CornerNet
checkpoints load: residual layers are ``nn.Sequential``s of basic blocks (``conv1``, ``bn1``,
``conv2``, ``bn2``, ``downsample.0`` conv / ``downsample.1`` norm), the stem is
``stem.0`` (a 7x7 ``ConvModule``) and ``stem.1`` (one strided block).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from segdet.api import ConvModule, build_norm_layer, load_pretrained

__all__ = ["BasicBlock", "HourglassModule", "HourglassNet", "res_layer"]

_BN: dict[str, Any] = {"type": "BN", "requires_grad": True}


class BasicBlock(nn.Module):
    """ResNet basic block: two 3x3 convs with a shortcut (a 1x1 conv + norm when the shape changes).

    Args:
        inplanes: input channels.
        planes: output channels.
        stride: stride of the first conv and of the shortcut. Default 1.
        norm_cfg: normalisation layer config. Default BN.

    Shapes: ``(B, inplanes, H, W)`` -> ``(B, planes, H / stride, W / stride)``.
    """

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 norm_cfg: Mapping[str, Any] = _BN) -> None:
        super().__init__()
        self.norm1_name, norm1 = build_norm_layer(norm_cfg, planes, postfix=1)
        self.norm2_name, norm2 = build_norm_layer(norm_cfg, planes, postfix=2)
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
        self.add_module(self.norm1_name, norm1)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.add_module(self.norm2_name, norm2)
        self.relu = nn.ReLU(inplace=True)
        self.downsample: nn.Module | None = None
        if stride != 1 or inplanes != planes:
            _, norm = build_norm_layer(norm_cfg, planes)
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride=stride, bias=False), norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(getattr(self, self.norm1_name)(self.conv1(x)))
        out = getattr(self, self.norm2_name)(self.conv2(out))
        return self.relu(out + identity)


def res_layer(inplanes: int, planes: int, num_blocks: int, stride: int = 1,
              norm_cfg: Mapping[str, Any] = _BN, downsample_first: bool = True) -> nn.Sequential:
    """``num_blocks`` basic blocks from ``inplanes`` to ``planes`` channels (MMDetection's ``ResLayer``).

    ``downsample_first``: the first block changes the shape (encoder side); otherwise the last one
    does (decoder side of an hourglass). As upstream, at least one block is built even when
    ``num_blocks`` is 0 (so a one-stack net still has ``inters.0``, unused, and keys match).
    """
    count = max(1, num_blocks)
    if downsample_first:
        blocks = [BasicBlock(inplanes, planes, stride, norm_cfg)]
        blocks += [BasicBlock(planes, planes, 1, norm_cfg) for _ in range(count - 1)]
    else:
        blocks = [BasicBlock(inplanes, inplanes, 1, norm_cfg) for _ in range(count - 1)]
        blocks.append(BasicBlock(inplanes, planes, stride, norm_cfg))
    return nn.Sequential(*blocks)


class HourglassModule(nn.Module):
    """One hourglass: a skip branch ``up1`` at this resolution plus ``low1`` (stride 2) ->
    ``low2`` (a nested hourglass, or blocks at the bottom) -> ``low3`` -> upsample, summed.

    Args:
        depth: number of downsamplings inside this module (the nesting depth).
        stage_channels: channels per level, ``len > depth``; level 0 is this module's.
        stage_blocks: blocks per level, same length.
        norm_cfg: normalisation layer config. Default BN.
        upsample_cfg: ``F.interpolate`` keywords; without ``scale_factor`` the low branch is
            resized to the skip branch's size (odd sizes work). Default ``dict(mode='nearest')``.

    Shapes: ``(B, stage_channels[0], H, W)`` -> same.
    """

    def __init__(self, depth: int, stage_channels: Sequence[int], stage_blocks: Sequence[int],
                 norm_cfg: Mapping[str, Any] = _BN,
                 upsample_cfg: Mapping[str, Any] = {"mode": "nearest"}) -> None:  # noqa: B006 (never mutated)
        super().__init__()
        cur_channel, next_channel = stage_channels[0], stage_channels[1]
        cur_block, next_block = stage_blocks[0], stage_blocks[1]
        self.depth = depth
        self.upsample_cfg = dict(upsample_cfg)
        self.up1 = res_layer(cur_channel, cur_channel, cur_block, norm_cfg=norm_cfg)
        self.low1 = res_layer(cur_channel, next_channel, cur_block, stride=2, norm_cfg=norm_cfg)
        self.low2: nn.Module
        if depth > 1:
            self.low2 = HourglassModule(depth - 1, stage_channels[1:], stage_blocks[1:], norm_cfg, upsample_cfg)
        else:
            self.low2 = res_layer(next_channel, next_channel, next_block, norm_cfg=norm_cfg)
        self.low3 = res_layer(next_channel, cur_channel, cur_block, norm_cfg=norm_cfg, downsample_first=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        up1 = self.up1(x)
        low3 = self.low3(self.low2(self.low1(x)))
        if "scale_factor" in self.upsample_cfg:
            up2 = F.interpolate(low3, **self.upsample_cfg)
        else:
            up2 = F.interpolate(low3, size=up1.shape[2:], **self.upsample_cfg)
        return up1 + up2


class HourglassNet(nn.Module):
    """Stacked hourglass network (CornerNet's Hourglass-104 with the defaults).

    A stem (7x7 conv stride 2, one block stride 2) brings the image to stride 4; each stack
    is an hourglass followed by ``out_convs[i]`` (3x3, ``feat_channel``); between stacks the
    input of the next is ``relu(conv1x1s[i](inter) + remap_convs[i](out))`` through
    ``inters[i]``.

    Args:
        downsample_times: downsamplings inside each hourglass. Default 5.
        num_stacks: number of stacked hourglasses. Default 2.
        stage_channels: channels per hourglass level, ``len > downsample_times``.
            Default ``(256, 256, 384, 384, 384, 512)``.
        stage_blocks: basic blocks per level. Default ``(2, 2, 2, 2, 2, 4)``.
        feat_channel: channels of every output. Default 256.
        norm_cfg: normalisation layer config. Default BN.
        pretrained: deprecated alias of ``init_cfg=dict(type='Pretrained', checkpoint=...)``.
        init_cfg: ``None`` or ``dict(type='Pretrained', checkpoint=..., prefix=None)``, loaded by
            ``init_weights()``.

    Shapes: ``(B, 3, H, W)`` -> tuple of ``num_stacks`` maps ``(B, feat_channel, H/4, W/4)``
    (``H`` divisible by ``4 * 2**downsample_times`` keeps every level aligned; other sizes
    are resized to fit). ``out_channels``/``strides`` list one entry per stack.
    """

    def __init__(
        self,
        downsample_times: int = 5,
        num_stacks: int = 2,
        stage_channels: Sequence[int] = (256, 256, 384, 384, 384, 512),
        stage_blocks: Sequence[int] = (2, 2, 2, 2, 2, 4),
        feat_channel: int = 256,
        norm_cfg: Mapping[str, Any] = _BN,
        pretrained: str | None = None,
        init_cfg: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if len(stage_channels) != len(stage_blocks):
            raise ValueError(f"HourglassNet: stage_channels {list(stage_channels)} and stage_blocks "
                             f"{list(stage_blocks)} must have the same length")
        if len(stage_channels) <= downsample_times:
            raise ValueError(f"HourglassNet: stage_channels needs more than downsample_times={downsample_times} "
                             f"entries (one per level plus the bottom), got {len(stage_channels)}")
        if num_stacks < 1:
            raise ValueError(f"HourglassNet: num_stacks must be >= 1, got {num_stacks}")
        if pretrained is not None:
            if init_cfg is not None:
                raise ValueError("HourglassNet: give init_cfg or the deprecated pretrained, not both")
            init_cfg = {"type": "Pretrained", "checkpoint": pretrained}
        if init_cfg is not None and (init_cfg.get("type") != "Pretrained" or "checkpoint" not in init_cfg):
            raise ValueError(f"HourglassNet: init_cfg must be None or dict(type='Pretrained', checkpoint=...), "
                             f"got {dict(init_cfg)!r}")
        self.init_cfg = None if init_cfg is None else dict(init_cfg)
        self.num_stacks = num_stacks
        cur = stage_channels[0]
        self.stem = nn.Sequential(
            ConvModule(3, cur // 2, 7, stride=2, padding=3, norm_cfg=norm_cfg),
            res_layer(cur // 2, cur, 1, stride=2, norm_cfg=norm_cfg),
        )
        self.hourglass_modules = nn.ModuleList(
            HourglassModule(downsample_times, stage_channels, stage_blocks, norm_cfg) for _ in range(num_stacks))
        self.inters = res_layer(cur, cur, num_stacks - 1, norm_cfg=norm_cfg)
        self.conv1x1s = nn.ModuleList(
            ConvModule(cur, cur, 1, norm_cfg=norm_cfg, act_cfg=None) for _ in range(num_stacks - 1))
        self.out_convs = nn.ModuleList(
            ConvModule(cur, feat_channel, 3, padding=1, norm_cfg=norm_cfg) for _ in range(num_stacks))
        self.remap_convs = nn.ModuleList(
            ConvModule(feat_channel, cur, 1, norm_cfg=norm_cfg, act_cfg=None) for _ in range(num_stacks - 1))
        self.relu = nn.ReLU(inplace=True)
        self.out_channels = [feat_channel] * num_stacks
        self.strides = [4] * num_stacks

    def init_weights(self) -> None:
        """PyTorch's default conv initialisation (as upstream), then the ``init_cfg`` checkpoint."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                m.reset_parameters()
        if self.init_cfg is not None:
            load_pretrained(self, str(self.init_cfg["checkpoint"]), prefix=self.init_cfg.get("prefix"))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        inter = self.stem(x)
        outs: list[torch.Tensor] = []
        for i in range(self.num_stacks):
            out = self.out_convs[i](self.hourglass_modules[i](inter))
            outs.append(out)
            if i < self.num_stacks - 1:
                inter = self.conv1x1s[i](inter) + self.remap_convs[i](out)
                inter = self.inters[i](self.relu(inter))
        return tuple(outs)
