"""RegNetX backbones (``arch='regnetx_800mf'`` ... or an explicit parameter dict), MMDetection keys.

RegNet is a ResNeXt-style network: stages of ResNeXt bottlenecks without width expansion, whose
widths and depths follow a quantised linear rule. It lives in the ResNet distribution because it
is built from the same blocks, residual layers, freezing and checkpoint loading (MMDetection's
``RegNet`` subclasses its ``ResNet`` and uses ResNeXt's ``Bottleneck``); a separate distribution
would have to copy them, and plugins do not depend on each other.

Widths from ``dict(w0, wa, wm, group_w, depth, bot_mul)`` (Radosavovic et al. 2020, as MMDetection
computes them): block ``j`` has continuous width ``w0 + wa * j``, quantised to
``w0 * wm ** round(log(w_j / w0) / log(wm))`` rounded to a multiple of 8; runs of equal widths form
the stages; each stage's bottleneck width ``w * bot_mul`` is rounded to a multiple of its group
width ``min(group_w, w * bot_mul)``. Keys: ``conv1``/``bn1`` (3x3 stride-2 stem, no max pool),
then ``layer{i}.{j}.conv1..3``, ``bn1..3``, ``downsample.0/1``, as in ResNet.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import torch
from torch import nn

from segdet.api import build_norm_layer

from .blocks import ResLayer, make_conv
from .checkpoints import resolve_checkpoint
from .resnet import ResNet, check_init_cfg, check_stage_arguments
from .resnext import ResNeXtBottleneck

__all__ = ["RegNet", "regnet_stages"]

_ARCH_KEYS = ("w0", "wa", "wm", "group_w", "depth", "bot_mul")


class _RegNetBottleneck(ResNeXtBottleneck):
    """ResNeXt bottleneck without expansion: output width = stage width."""

    expansion = 1


def _block_widths(w0: int, wa: float, wm: float, depth: int, divisor: int = 8) -> list[int]:
    if wa < 0 or w0 <= 0 or wm <= 1 or w0 % divisor:
        raise ValueError(f"RegNet arch needs wa >= 0, wm > 1 and w0 > 0 divisible by {divisor}; "
                         f"got w0={w0}, wa={wa}, wm={wm}")
    widths = []
    for j in range(depth):
        cont = j * wa + w0
        k = round(math.log(cont / w0) / math.log(wm))  # half-to-even, as numpy's round
        widths.append(int(round(w0 * wm**k / divisor) * divisor))
    return widths


def regnet_stages(arch: Mapping[str, Any]) -> tuple[list[int], list[int], list[int]]:
    """``(stage_widths, stage_blocks, group_widths)`` of a RegNet parameter dict.

    >>> regnet_stages(dict(w0=56, wa=35.73, wm=2.28, group_w=16, depth=16, bot_mul=1.0))
    ([64, 128, 288, 672], [1, 3, 7, 5], [16, 16, 16, 16])
    """
    widths = _block_widths(int(arch["w0"]), float(arch["wa"]), float(arch["wm"]), int(arch["depth"]))
    stage_widths: list[int] = []
    stage_blocks: list[int] = []
    for w in widths:
        if stage_widths and stage_widths[-1] == w:
            stage_blocks[-1] += 1
        else:
            stage_widths.append(w)
            stage_blocks.append(1)
    bot_mul = float(arch["bot_mul"])
    bottleneck = [int(w * bot_mul) for w in stage_widths]
    groups = [min(int(arch["group_w"]), b) for b in bottleneck]
    bottleneck = [int(round(b / g) * g) for b, g in zip(bottleneck, groups)]
    return [int(b / bot_mul) for b in bottleneck], stage_blocks, groups


class RegNet(ResNet):
    """RegNetX backbone: ``arch`` is one of :attr:`arch_params` or a dict of those six numbers.

    Args:
        arch: ``'regnetx_400mf'``, ``'regnetx_800mf'``, ``'regnetx_1.6gf'``, ``'regnetx_3.2gf'``,
            ``'regnetx_4.0gf'``, ``'regnetx_6.4gf'``, ``'regnetx_8.0gf'``, ``'regnetx_12gf'``, or
            ``dict(w0=int, wa=float, wm=float, group_w=int, depth=int, bot_mul=float)``.
        in_channels: image channels (3).
        stem_channels: width of the 3x3 stride-2 stem conv (32).
        base_channels: kept for MMDetection configs; RegNet widths come from ``arch`` (32).
        strides: stride of each stage's first block ((2, 2, 2, 2)); dilations: ((1, 1, 1, 1)).
        out_indices, style, avg_down, frozen_stages, conv_cfg, norm_cfg, norm_eval, dcn,
        stage_with_dcn, with_cp, zero_init_residual, init_cfg, pretrained: as :class:`ResNet`.
        deep_stem: must stay False (MMDetection ignores it; RegNet has one stem conv).

    Attributes:
        out_channels: e.g. ``[64, 128, 288, 672]`` for ``regnetx_800mf``; strides: ``[4, 8, 16, 32]``.
    """

    arch_params: ClassVar[dict[str, dict[str, float]]] = {
        "regnetx_400mf": dict(w0=24, wa=24.48, wm=2.54, group_w=16, depth=22, bot_mul=1.0),
        "regnetx_800mf": dict(w0=56, wa=35.73, wm=2.28, group_w=16, depth=16, bot_mul=1.0),
        "regnetx_1.6gf": dict(w0=80, wa=34.01, wm=2.25, group_w=24, depth=18, bot_mul=1.0),
        "regnetx_3.2gf": dict(w0=88, wa=26.31, wm=2.25, group_w=48, depth=25, bot_mul=1.0),
        "regnetx_4.0gf": dict(w0=96, wa=38.65, wm=2.43, group_w=40, depth=23, bot_mul=1.0),
        "regnetx_6.4gf": dict(w0=184, wa=60.83, wm=2.07, group_w=56, depth=17, bot_mul=1.0),
        "regnetx_8.0gf": dict(w0=80, wa=49.56, wm=2.88, group_w=120, depth=23, bot_mul=1.0),
        "regnetx_12gf": dict(w0=168, wa=73.36, wm=2.37, group_w=112, depth=19, bot_mul=1.0),
    }

    def __init__(
        self,
        arch: str | Mapping[str, float],
        in_channels: int = 3,
        stem_channels: int = 32,
        base_channels: int = 32,
        strides: Sequence[int] = (2, 2, 2, 2),
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
        init_cfg: Mapping[str, Any] | None = None,
        pretrained: str | None = None,
    ) -> None:
        nn.Module.__init__(self)  # ResNet.__init__ builds depth-indexed stages; RegNet's come from arch
        params = self._arch_dict(arch)
        stage_widths, stage_blocks, group_widths = regnet_stages(params)
        num_stages = len(stage_widths)
        check_stage_arguments("RegNet", num_stages, strides, dilations, out_indices, style, norm_cfg, dcn,
                              stage_with_dcn)
        if deep_stem:
            raise ValueError("RegNet has a single 3x3 stem conv; deep_stem=True is not supported")
        init_cfg = check_init_cfg("RegNet", init_cfg, pretrained)

        self.arch = params
        self.stage_widths, self.group_widths = stage_widths, group_widths
        self.bottleneck_ratio = [float(params["bot_mul"])] * num_stages
        self.depth = sum(stage_blocks)
        self.block = _RegNetBottleneck
        self.stage_blocks = tuple(stage_blocks)
        self.stem_channels, self.base_channels = stem_channels, base_channels
        self.num_stages = num_stages
        self.stage_strides, self.dilations = tuple(strides), tuple(dilations)
        self.out_indices = tuple(out_indices)
        self.style, self.deep_stem, self.avg_down = style, False, avg_down
        self.frozen_stages = frozen_stages
        self.norm_cfg = dict(norm_cfg)
        self.norm_eval, self.with_cp, self.zero_init_residual = norm_eval, with_cp, zero_init_residual
        self.dcn = None if dcn is None else dict(dcn)
        self.stage_with_dcn = tuple(stage_with_dcn)
        self.multi_grid, self.contract_dilation = None, False
        self.init_cfg = None if init_cfg is None else dict(init_cfg)
        self._checkpoint = None if init_cfg is None else resolve_checkpoint(str(init_cfg["checkpoint"]))

        self.conv1 = make_conv(conv_cfg, in_channels, stem_channels, 3, stride=2, padding=1)
        self.norm1_name, norm1 = build_norm_layer(self.norm_cfg, stem_channels, postfix=1)
        self.add_module(self.norm1_name, norm1)
        self.relu = nn.ReLU(inplace=True)

        self.res_layers: list[str] = []
        inplanes, stride = stem_channels, 2
        stage_out: list[tuple[int, int]] = []
        for i, num_blocks in enumerate(stage_blocks):
            width = int(round(stage_widths[i] * self.bottleneck_ratio[i]))
            dcn_i = self._stage_dcn(i)
            kwargs: dict[str, Any] = {"groups": width // group_widths[i], "base_width": group_widths[i],
                                      "base_channels": stage_widths[i]}
            if dcn_i is not None:
                kwargs["dcn"] = dcn_i
            layer = ResLayer(self.block, inplanes, stage_widths[i], num_blocks, stride=strides[i],
                             dilation=dilations[i], avg_down=avg_down, style=style, with_cp=with_cp,
                             conv_cfg=conv_cfg, norm_cfg=self.norm_cfg, block_kwargs=kwargs)
            inplanes = stage_widths[i]
            stride *= strides[i]
            stage_out.append((inplanes, stride))
            self.add_module(f"layer{i + 1}", layer)
            self.res_layers.append(f"layer{i + 1}")
        self.feat_dim = stage_widths[-1]
        self.out_channels: list[int] = [stage_out[i][0] for i in self.out_indices]
        self.strides: list[int] = [stage_out[i][1] for i in self.out_indices]

        self._default_init()
        self._freeze_stages()

    @classmethod
    def _arch_dict(cls, arch: str | Mapping[str, float]) -> dict[str, float]:
        if isinstance(arch, str):
            if arch not in cls.arch_params:
                raise ValueError(f"RegNet arch {arch!r} is unknown; use one of {sorted(cls.arch_params)} "
                                 f"or a dict with keys {list(_ARCH_KEYS)}")
            return dict(cls.arch_params[arch])
        if not isinstance(arch, Mapping):
            raise ValueError(f"RegNet arch must be a name or a dict, got {type(arch).__name__}")
        missing = [k for k in _ARCH_KEYS if k not in arch]
        unknown = sorted(set(arch) - set(_ARCH_KEYS))
        if missing or unknown:
            raise ValueError(f"RegNet arch dict needs exactly the keys {list(_ARCH_KEYS)}; "
                             f"missing {missing}, unknown {unknown}")
        return {k: arch[k] for k in _ARCH_KEYS}

    def _forward_stem(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.norm1(self.conv1(x)))
