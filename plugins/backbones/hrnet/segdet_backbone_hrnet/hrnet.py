"""HRNet backbone (Wang et al. 2019) with MMDetection / MMSegmentation keys and ``extra`` stage dicts.

Keys: stem ``conv1``/``bn1``/``conv2``/``bn2`` (two stride-2 3x3 convs), ``layer1`` (stage 1,
one branch of blocks), ``transition{1,2,3}.{b}`` (``.0``/``.1`` conv + norm adapting an existing
branch, or ``.{k}.0``/``.{k}.1`` stride-2 steps opening a new coarser branch), ``stage{2,3,4}.{m}``
(:class:`HRModule` s).
"""
from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any, ClassVar

import torch
from torch import nn

from segdet.api import (
    build_norm_layer,
    eval_batch_norms,
    freeze_modules,
    init_residual_weights,
    load_backbone_pretrained,
)

from ._blocks import BasicBlock, BlockType, Bottleneck, conv_layer
from .checkpoints import resolve_checkpoint
from .hr_module import HRModule, make_branch

__all__ = ["HRNet"]

_STAGE_KEYS = ("num_modules", "num_branches", "block", "num_blocks", "num_channels")


def _check_extra(extra: Mapping[str, Any]) -> None:
    missing = [s for s in ("stage1", "stage2", "stage3", "stage4") if s not in extra]
    unknown = sorted(set(extra) - {"stage1", "stage2", "stage3", "stage4"})
    if missing or unknown:
        raise ValueError(f"HRNet extra needs stage1..stage4 dicts; missing {missing}, unknown {unknown}")
    for name in ("stage1", "stage2", "stage3", "stage4"):
        cfg = extra[name]
        bad = sorted(set(cfg) - set(_STAGE_KEYS))
        lacking = [k for k in _STAGE_KEYS if k not in cfg]
        if bad or lacking:
            raise ValueError(f"HRNet extra.{name} takes exactly {list(_STAGE_KEYS)}; missing {lacking}, "
                             f"unknown {bad}")
        if cfg["block"] not in HRNet.blocks_dict:
            raise ValueError(f"HRNet extra.{name}.block must be one of {sorted(HRNet.blocks_dict)}, "
                             f"got {cfg['block']!r}")
        if len(cfg["num_blocks"]) != cfg["num_branches"] or len(cfg["num_channels"]) != cfg["num_branches"]:
            raise ValueError(f"HRNet extra.{name}: num_branches={cfg['num_branches']} needs as many num_blocks "
                             f"{tuple(cfg['num_blocks'])} and num_channels {tuple(cfg['num_channels'])}")
    if extra["stage1"]["num_branches"] != 1:
        raise ValueError("HRNet extra.stage1 must have num_branches=1")


class HRNet(nn.Module):
    """High-resolution network: a stride-4 stem, then stages of parallel branches at strides 4, 8, 16, 32.

    Args:
        extra: ``dict(stage1=..., stage2=..., stage3=..., stage4=...)``, each
            ``dict(num_modules, num_branches, block='BASIC'|'BOTTLENECK', num_blocks=(...), num_channels=(...))``
            as MMDetection / MMSegmentation configs write them (e.g. HRNetV2-W32: stage4
            ``num_channels=(32, 64, 128, 256)``).
        in_channels: image channels (3).
        stem_channels: width of the two stem convs (64, as every released HRNet; smaller only for tests).
        conv_cfg: ``None`` or ``dict(type='Conv2d')``; norm_cfg: e.g. ``dict(type='BN', requires_grad=True)``.
        norm_eval: BatchNorm layers stay in eval mode in training (True, MMDetection's default;
            MMSegmentation configs set False).
        with_cp: gradient checkpointing in every block (False).
        frozen_stages: freeze the stem (>= 0) and stages 1..n with their transitions (-1: nothing).
        zero_init_residual: the last norm of each block starts at zero (False).
        multiscale_output: return all stage-4 branches (True) or only the finest one.
        upsample_mode: how fusion upsamples coarse branches: ``'nearest'`` (MMDetection) or
            ``'bilinear'`` (MMSegmentation's HRNet).
        init_cfg: ``None`` or ``dict(type='Pretrained', checkpoint=PATH_OR_URL, prefix=None)``; also
            ``open-mmlab://msra/hrnetv2_w18`` (w18_small, w32, w40, w48). Read by :meth:`init_weights`.
        pretrained: deprecated alias of ``init_cfg=dict(type='Pretrained', checkpoint=pretrained)``.

    Attributes:
        out_channels: e.g. ``[32, 64, 128, 256]`` for W32; strides: ``[4, 8, 16, 32]``.

    Shapes: ``(N, in_channels, H, W)`` -> list of ``(N, out_channels[b], ceil(H / strides[b]), ...)``.
    """

    blocks_dict: ClassVar[dict[str, BlockType]] = {"BASIC": BasicBlock, "BOTTLENECK": Bottleneck}

    def __init__(
        self,
        extra: Mapping[str, Mapping[str, Any]],
        in_channels: int = 3,
        stem_channels: int = 64,
        conv_cfg: Mapping[str, Any] | None = None,
        norm_cfg: Mapping[str, Any] = {"type": "BN", "requires_grad": True},  # noqa: B006  (never mutated)
        norm_eval: bool = True,
        with_cp: bool = False,
        frozen_stages: int = -1,
        zero_init_residual: bool = False,
        multiscale_output: bool = True,
        upsample_mode: str = "nearest",
        init_cfg: Mapping[str, Any] | None = None,
        pretrained: str | None = None,
    ) -> None:
        super().__init__()
        _check_extra(extra)
        if pretrained is not None:
            if init_cfg is not None:
                raise ValueError("HRNet: give init_cfg or the deprecated pretrained, not both")
            warnings.warn("HRNet(pretrained=...) is deprecated; use init_cfg=dict(type='Pretrained', "
                          "checkpoint=...)", DeprecationWarning, stacklevel=2)
            init_cfg = {"type": "Pretrained", "checkpoint": pretrained}
        if init_cfg is not None and (init_cfg.get("type") != "Pretrained" or "checkpoint" not in init_cfg):
            raise ValueError(f"HRNet init_cfg must be None or dict(type='Pretrained', checkpoint=...), "
                             f"got {dict(init_cfg)!r}")
        self.extra = {k: dict(v) for k, v in extra.items()}
        self.norm_cfg = dict(norm_cfg)
        self.norm_eval = norm_eval
        self.frozen_stages = frozen_stages
        self.zero_init_residual = zero_init_residual
        self.init_cfg = None if init_cfg is None else dict(init_cfg)
        self._checkpoint = None if init_cfg is None else resolve_checkpoint(str(init_cfg["checkpoint"]))

        self.conv1 = conv_layer(conv_cfg, in_channels, stem_channels, 3, 2, 1)
        self.norm1_name, norm1 = build_norm_layer(self.norm_cfg, stem_channels, postfix=1)
        self.add_module(self.norm1_name, norm1)
        self.conv2 = conv_layer(conv_cfg, stem_channels, stem_channels, 3, 2, 1)
        self.norm2_name, norm2 = build_norm_layer(self.norm_cfg, stem_channels, postfix=2)
        self.add_module(self.norm2_name, norm2)
        self.relu = nn.ReLU(inplace=True)

        s1 = self.extra["stage1"]
        block = self.blocks_dict[s1["block"]]
        self.layer1 = make_branch(block, stem_channels, s1["num_channels"][0], s1["num_blocks"][0], 1, with_cp,
                                  self.norm_cfg, conv_cfg)
        channels = [s1["num_channels"][0] * block.expansion]
        for n in (2, 3, 4):
            cfg = self.extra[f"stage{n}"]
            width = [c * self.blocks_dict[cfg["block"]].expansion for c in cfg["num_channels"]]
            self.add_module(f"transition{n - 1}", self._make_transition(channels, width, conv_cfg))
            multiscale = multiscale_output or n < 4
            stage, channels = self._make_stage(cfg, width, multiscale, with_cp, conv_cfg, upsample_mode)
            self.add_module(f"stage{n}", stage)
        self.out_channels: list[int] = list(channels)
        self.strides: list[int] = [4 * 2**b for b in range(len(channels))]

        self._default_init()
        self._freeze_stages()

    @property
    def norm1(self) -> nn.Module:
        return getattr(self, self.norm1_name)

    @property
    def norm2(self) -> nn.Module:
        return getattr(self, self.norm2_name)

    def _make_transition(self, pre: list[int], cur: list[int], conv_cfg: Mapping[str, Any] | None) -> nn.ModuleList:
        layers = nn.ModuleList()
        for i, c in enumerate(cur):
            if i < len(pre):
                if c == pre[i]:
                    layers.append(nn.Identity())  # no parameters, as MMDetection's None
                else:
                    layers.append(nn.Sequential(conv_layer(conv_cfg, pre[i], c, 3, 1, 1),
                                                build_norm_layer(self.norm_cfg, c)[1], nn.ReLU(inplace=True)))
                continue
            steps = []
            for j in range(i + 1 - len(pre)):
                out = c if j == i - len(pre) else pre[-1]
                steps.append(nn.Sequential(conv_layer(conv_cfg, pre[-1], out, 3, 2, 1),
                                           build_norm_layer(self.norm_cfg, out)[1], nn.ReLU(inplace=True)))
            layers.append(nn.Sequential(*steps))
        return layers

    def _make_stage(self, cfg: Mapping[str, Any], in_channels: list[int], multiscale_output: bool, with_cp: bool,
                    conv_cfg: Mapping[str, Any] | None, upsample_mode: str) -> tuple[nn.Sequential, list[int]]:
        block = self.blocks_dict[cfg["block"]]
        modules = []
        channels = list(in_channels)
        for m in range(cfg["num_modules"]):
            last = m == cfg["num_modules"] - 1
            module = HRModule(cfg["num_branches"], block, cfg["num_blocks"], channels, cfg["num_channels"],
                              multiscale_output or not last, with_cp, conv_cfg, self.norm_cfg, upsample_mode)
            channels = module.out_channels
            modules.append(module)
        if not multiscale_output:
            channels = channels[:1]
        return nn.Sequential(*modules), channels

    def _default_init(self) -> None:
        init_residual_weights(self, self.zero_init_residual)

    def init_weights(self) -> None:
        """Re-initialise, then load the ``init_cfg`` checkpoint (whole-model files under ``backbone.`` too)."""
        self._default_init()
        if self.init_cfg is None or self._checkpoint is None:
            return
        load_backbone_pretrained(self, self._checkpoint, prefix=self.init_cfg.get("prefix"))
        self._freeze_stages()

    def _frozen_modules(self) -> list[nn.Module]:
        mods: list[nn.Module] = []
        if self.frozen_stages >= 0:
            mods += [self.conv1, self.norm1, self.conv2, self.norm2]
        for i in range(1, self.frozen_stages + 1):
            mods.append(self.layer1 if i == 1 else getattr(self, f"stage{i}"))
            if i < 4:
                mods.append(getattr(self, f"transition{i}"))
        return mods

    def _freeze_stages(self) -> None:
        freeze_modules(self._frozen_modules())

    def train(self, mode: bool = True) -> HRNet:
        """Training mode, keeping frozen stages (and BatchNorm if ``norm_eval``) in eval mode."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            eval_batch_norms(self)
        return self

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """``(N, C, H, W)`` -> list of the stage-4 branch maps (finest first)."""
        x = self.relu(self.norm1(self.conv1(x)))
        x = self.relu(self.norm2(self.conv2(x)))
        ys = [self.layer1(x)]
        for n in (2, 3, 4):
            transition = getattr(self, f"transition{n - 1}")
            # An existing branch passes through (or is adapted); a new one starts from the coarsest.
            xs = [t(ys[i] if i < len(ys) else ys[-1]) for i, t in enumerate(transition)]
            ys = getattr(self, f"stage{n}")(xs)
        return ys
