"""Feature Pyramid Network (Lin et al., 2017) with MMDetection's parameter names and options."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from segdet.api import ConvModule, load_pretrained

__all__ = ["FPN"]

_EXTRA_SOURCES = ("on_input", "on_lateral", "on_output")


class FPN(nn.Module):
    """Top-down feature pyramid: 1x1 lateral convs, nearest upsampling and sum, 3x3 output convs.

    Args:
        in_channels: channels of each input level, e.g. ``[256, 512, 1024, 2048]``.
        out_channels: channels of every output level.
        num_outs: number of output levels; levels beyond the used inputs are extra levels.
        start_level: first input level used (0); RetinaNet uses 1 to skip C2.
        end_level: last input level used, inclusive; -1 means the last one. When it is not the
            last input, no extra level is allowed (``num_outs == end_level - start_level + 1``).
        add_extra_convs: how extra levels are made. ``False``: max pooling (kernel 1, stride 2) of the
            last output. ``'on_input'`` (``True`` means this), ``'on_lateral'``, ``'on_output'``: a
            stride-2 3x3 conv on the last used input, lateral or output, then on each new level.
        relu_before_extra_convs: ReLU before the second and later extra convs (False).
        no_norm_on_lateral: no norm layer in the lateral convs even when ``norm_cfg`` is set (False).
        conv_cfg, norm_cfg, act_cfg: for every :class:`~segdet.models.layers.ConvModule` (all ``None``).
        upsample_cfg: keyword arguments of ``F.interpolate`` (``dict(mode='nearest')``); without
            ``scale_factor`` the coarse level is resized to the finer level's size, so odd sizes work.
        init_cfg: ``None`` (Xavier-uniform convs, zero biases) or
            ``dict(type='Pretrained', checkpoint=PATH_OR_URL, prefix=None)``, loaded by
            :meth:`init_weights`, not at construction.
        in_strides: stride of each input level, used only to compute :attr:`strides`. Not an
            MMDetection argument; a parent passes its backbone's ``strides``. ``None`` assumes the last
            input has stride 32 and each earlier one half the next (ResNet C2..C5 -> 4, 8, 16, 32).

    Attributes:
        out_channels: ``[out_channels] * num_outs``.
        strides: stride of each output level, e.g. ``[8, 16, 32, 64, 128]`` for RetinaNet.

    Shapes: ``inputs[i]``: ``(N, in_channels[i], H_i, W_i)`` -> tuple of ``num_outs`` maps
    ``(N, out_channels, H_j, W_j)``; used levels keep their input's size, extra levels halve it
    (rounding up).

    Example:
        >>> fpn = FPN([8, 16, 32], 16, num_outs=5, add_extra_convs='on_input')
        >>> feats = [torch.rand(1, c, 32 // 2**i, 32 // 2**i) for i, c in enumerate([8, 16, 32])]
        >>> [tuple(o.shape[-2:]) for o in fpn(feats)]
        [(32, 32), (16, 16), (8, 8), (4, 4), (2, 2)]
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        out_channels: int,
        num_outs: int,
        start_level: int = 0,
        end_level: int = -1,
        add_extra_convs: bool | str = False,
        relu_before_extra_convs: bool = False,
        no_norm_on_lateral: bool = False,
        conv_cfg: Mapping[str, Any] | None = None,
        norm_cfg: Mapping[str, Any] | None = None,
        act_cfg: Mapping[str, Any] | None = None,
        upsample_cfg: Mapping[str, Any] = {"mode": "nearest"},  # noqa: B006  (copied, never mutated)
        init_cfg: Mapping[str, Any] | None = None,
        in_strides: Sequence[int] | None = None,
    ) -> None:
        super().__init__()
        if isinstance(in_channels, int) or not in_channels:
            raise ValueError(f"FPN in_channels must be a non-empty list of ints, got {in_channels!r}")
        self.in_channels = [int(c) for c in in_channels]
        self.num_ins = len(self.in_channels)
        self.num_outs = num_outs
        self.relu_before_extra_convs = relu_before_extra_convs
        self.no_norm_on_lateral = no_norm_on_lateral
        self.upsample_cfg = dict(upsample_cfg)
        self.start_level = start_level
        self.end_level = end_level
        self.backbone_end_level = self._check_levels(start_level, end_level, num_outs)
        self.add_extra_convs: str | bool = self._check_extra(add_extra_convs)
        if init_cfg is not None and (init_cfg.get("type") != "Pretrained" or "checkpoint" not in init_cfg):
            raise ValueError(f"FPN init_cfg must be None or dict(type='Pretrained', checkpoint=...), "
                             f"got {dict(init_cfg)!r}")
        self.init_cfg = None if init_cfg is None else dict(init_cfg)

        self.lateral_convs = nn.ModuleList()
        self.fpn_convs = nn.ModuleList()
        for i in range(start_level, self.backbone_end_level):
            self.lateral_convs.append(ConvModule(
                self.in_channels[i], out_channels, 1, conv_cfg=conv_cfg,
                norm_cfg=None if no_norm_on_lateral else norm_cfg, act_cfg=act_cfg, inplace=False))
            self.fpn_convs.append(ConvModule(
                out_channels, out_channels, 3, padding=1, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                act_cfg=act_cfg, inplace=False))
        extra_levels = num_outs - self.backbone_end_level + start_level
        if self.add_extra_convs and extra_levels >= 1:
            for i in range(extra_levels):
                if i == 0 and self.add_extra_convs == "on_input":
                    channels = self.in_channels[self.backbone_end_level - 1]
                else:
                    channels = out_channels
                self.fpn_convs.append(ConvModule(
                    channels, out_channels, 3, stride=2, padding=1, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                    act_cfg=act_cfg, inplace=False))

        self.out_channels: list[int] = [out_channels] * num_outs
        self.strides: list[int] = self._output_strides(in_strides)
        self._default_init()

    def _check_levels(self, start_level: int, end_level: int, num_outs: int) -> int:
        """Validate the level range; returns the index after the last used input."""
        if not 0 <= start_level < self.num_ins:
            raise ValueError(f"FPN start_level {start_level} must lie in 0..{self.num_ins - 1} "
                             f"for {self.num_ins} input levels")
        if end_level == -1 or end_level == self.num_ins - 1:
            if num_outs < self.num_ins - start_level:
                raise ValueError(f"FPN num_outs {num_outs} is smaller than the {self.num_ins - start_level} "
                                 f"input levels used from start_level {start_level}")
            return self.num_ins
        if not start_level <= end_level < self.num_ins:
            raise ValueError(f"FPN end_level {end_level} must be -1 or lie in {start_level}..{self.num_ins - 1}")
        if num_outs != end_level - start_level + 1:
            raise ValueError(f"FPN with end_level {end_level} (not the last input) makes no extra levels: "
                             f"num_outs must be {end_level - start_level + 1}, got {num_outs}")
        return end_level + 1

    @staticmethod
    def _check_extra(add_extra_convs: bool | str) -> bool | str:
        if isinstance(add_extra_convs, str):
            if add_extra_convs not in _EXTRA_SOURCES:
                raise ValueError(f"FPN add_extra_convs must be a bool or one of {_EXTRA_SOURCES}, "
                                 f"got {add_extra_convs!r}")
            return add_extra_convs
        if not isinstance(add_extra_convs, bool):
            raise ValueError(f"FPN add_extra_convs must be a bool or a str, got {add_extra_convs!r}")
        return "on_input" if add_extra_convs else False

    def _output_strides(self, in_strides: Sequence[int] | None) -> list[int]:
        if in_strides is None:
            in_strides = [max(1, 32 >> (self.num_ins - 1 - i)) for i in range(self.num_ins)]
        elif len(in_strides) != self.num_ins:
            raise ValueError(f"FPN in_strides {list(in_strides)} needs one stride per input level "
                             f"({self.num_ins}, as in_channels {self.in_channels})")
        strides = [int(s) for s in in_strides[self.start_level:self.backbone_end_level]]
        while len(strides) < self.num_outs:
            strides.append(strides[-1] * 2)
        return strides

    def _default_init(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def init_weights(self) -> None:
        """Xavier-uniform conv weights and zero biases, then load the ``init_cfg`` checkpoint if any.

        Training calls this before the first iteration; construction only initialises randomly.
        """
        self._default_init()
        if self.init_cfg is not None:
            load_pretrained(self, str(self.init_cfg["checkpoint"]), prefix=self.init_cfg.get("prefix"))

    def _upsample_add(self, fine: torch.Tensor, coarse: torch.Tensor) -> torch.Tensor:
        if "scale_factor" in self.upsample_cfg:
            return fine + F.interpolate(coarse, **self.upsample_cfg)
        return fine + F.interpolate(coarse, size=fine.shape[2:], **self.upsample_cfg)

    def forward(self, inputs: Sequence[torch.Tensor]) -> tuple[torch.Tensor, ...]:
        """``len(in_channels)`` maps, finest first -> tuple of ``num_outs`` maps, finest first."""
        if len(inputs) != self.num_ins:
            raise ValueError(f"FPN was built for {self.num_ins} input levels (in_channels "
                             f"{self.in_channels}) but got {len(inputs)}")
        laterals = [conv(inputs[i + self.start_level]) for i, conv in enumerate(self.lateral_convs)]
        used = len(laterals)
        for i in range(used - 1, 0, -1):
            laterals[i - 1] = self._upsample_add(laterals[i - 1], laterals[i])
        outs = [self.fpn_convs[i](laterals[i]) for i in range(used)]
        if self.num_outs > used:
            if not self.add_extra_convs:
                for _ in range(self.num_outs - used):
                    outs.append(F.max_pool2d(outs[-1], 1, stride=2))
            else:
                if self.add_extra_convs == "on_input":
                    source = inputs[self.backbone_end_level - 1]
                elif self.add_extra_convs == "on_lateral":
                    source = laterals[-1]
                else:
                    source = outs[-1]
                outs.append(self.fpn_convs[used](source))
                for i in range(used + 1, self.num_outs):
                    prev = F.relu(outs[-1]) if self.relu_before_extra_convs else outs[-1]
                    outs.append(self.fpn_convs[i](prev))
        return tuple(outs)
