"""Deformable convolutions (MMCV's ``DCN`` / ``DCNv2``) on ``torchvision.ops.deform_conv2d``.

The modules keep MMCV's parameter names, so checkpoints of ``*_dconv_c3-c5_*`` /
``*_mdconv_c3-c5_*`` models load: ``weight`` (``(out, in // groups, k, k)``), ``bias`` (only if
asked for) and ``conv_offset.weight`` / ``conv_offset.bias``, a plain convolution predicting
``deform_groups * 2 * k * k`` offsets (DCN) or ``deform_groups * 3 * k * k`` offsets and mask
logits (DCNv2: the first two thirds are the offsets, the last third goes through a sigmoid).
Offsets are laid out as torchvision and MMCV both read them: for every deformable group and
every kernel position, a ``(dy, dx)`` pair. ``conv_offset`` starts at zero, so a fresh module
samples the regular grid: DCN is then a plain convolution, DCNv2 one scaled by ``sigmoid(0) = 0.5``.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torch.nn.modules.utils import _pair
from torchvision.ops import deform_conv2d

__all__ = ["DeformConv2dPack", "ModulatedDeformConv2dPack", "build_dcn", "check_dcn", "rename_legacy_offsets"]


class DeformConv2dPack(nn.Module):
    """Deformable convolution v1 with its own offset branch (MMCV ``type='DCN'``).

    Args:
        in_channels, out_channels: channels of input and output.
        kernel_size, stride, padding, dilation: as ``nn.Conv2d`` (int or pair).
        groups: grouped convolution (ResNeXt); ``in_channels`` and ``out_channels`` divisible by it.
        deform_groups: channel groups sharing one offset field (1).
        bias: learnable bias on the output (False, as in every MMDetection backbone).

    Shapes: ``(N, in_channels, H, W)`` -> ``(N, out_channels, H', W')`` as for ``nn.Conv2d``.
    """

    _offset_per_point = 2  # (dy, dx)

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int],
                 stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0,
                 dilation: int | tuple[int, int] = 1, groups: int = 1, deform_groups: int = 1,
                 bias: bool = False) -> None:
        super().__init__()
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{type(self).__name__}: in_channels {in_channels} and out_channels "
                             f"{out_channels} must be divisible by groups {groups}")
        if in_channels % deform_groups:
            raise ValueError(f"{type(self).__name__}: in_channels {in_channels} must be divisible by "
                             f"deform_groups {deform_groups}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _pair(kernel_size)
        self.stride = _pair(stride)
        self.padding = _pair(padding)
        self.dilation = _pair(dilation)
        self.groups = groups
        self.deform_groups = deform_groups
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels // groups, *self.kernel_size))
        self.bias: nn.Parameter | None
        if bias:
            self.bias = nn.Parameter(torch.empty(out_channels))
        else:
            self.register_parameter("bias", None)
        kh, kw = self.kernel_size
        self.conv_offset = nn.Conv2d(in_channels, deform_groups * self._offset_per_point * kh * kw,
                                     self.kernel_size, stride=self.stride, padding=self.padding,
                                     dilation=self.dilation, bias=True)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Uniform weights as MMCV initialises them; offsets (and mask logits) at zero."""
        fan_in = self.in_channels // self.groups * self.kernel_size[0] * self.kernel_size[1]
        bound = 1.0 / math.sqrt(fan_in)
        nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            nn.init.zeros_(self.bias)
        self.init_offset()

    def init_offset(self) -> None:
        """Zero the offset branch: the module then samples the regular convolution grid."""
        nn.init.zeros_(self.conv_offset.weight)
        assert self.conv_offset.bias is not None
        nn.init.zeros_(self.conv_offset.bias)

    def _offset_and_mask(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        return self.conv_offset(x), None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C_in, H, W)`` -> ``(N, C_out, H', W')``."""
        offset, mask = self._offset_and_mask(x)
        return deform_conv2d(x, offset, self.weight, self.bias, stride=self.stride, padding=self.padding,
                             dilation=self.dilation, mask=mask)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, dilation={self.dilation}, "
                f"groups={self.groups}, deform_groups={self.deform_groups}, bias={self.bias is not None}")


class ModulatedDeformConv2dPack(DeformConv2dPack):
    """Modulated deformable convolution (DCNv2, MMCV ``type='DCNv2'``).

    ``conv_offset`` predicts ``3 * deform_groups * k * k`` channels: offsets ``cat(o1, o2)`` from
    the first two thirds and a per-sample mask ``sigmoid(m)`` from the last third. Arguments as
    :class:`DeformConv2dPack`; ``bias`` defaults to True as in MMCV (backbones pass False).
    """

    _offset_per_point = 3  # (dy, dx, mask logit)

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int],
                 stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0,
                 dilation: int | tuple[int, int] = 1, groups: int = 1, deform_groups: int = 1,
                 bias: bool = True) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=padding,
                         dilation=dilation, groups=groups, deform_groups=deform_groups, bias=bias)

    def _offset_and_mask(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        o1, o2, logits = torch.chunk(self.conv_offset(x), 3, dim=1)
        return torch.cat((o1, o2), dim=1), torch.sigmoid(logits)


_TYPES: dict[str, type[DeformConv2dPack]] = {
    "DCN": DeformConv2dPack,
    "DeformConv2dPack": DeformConv2dPack,
    "DCNv2": ModulatedDeformConv2dPack,
    "ModulatedDeformConv2dPack": ModulatedDeformConv2dPack,
}
_KEYS = {"type", "deform_groups", "fallback_on_stride"}


def check_dcn(dcn: Mapping[str, Any] | None, owner: str) -> None:
    """Reject a ``dcn`` dict with an unknown type or key, naming ``owner`` (e.g. ``'ResNet dcn'``)."""
    if dcn is None:
        return
    kind = dcn.get("type")
    if kind not in _TYPES:
        raise ValueError(f"{owner}: type {kind!r} is not a deformable convolution; use "
                         f"dict(type='DCN' or 'DCNv2', deform_groups=1, fallback_on_stride=False)")
    unknown = sorted(set(dcn) - _KEYS)
    if unknown:
        raise ValueError(f"{owner}: unknown keys {unknown}; a dcn dict takes {sorted(_KEYS)}")


def build_dcn(dcn: Mapping[str, Any], in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
              padding: int = 0, dilation: int = 1, groups: int = 1, bias: bool = False) -> DeformConv2dPack:
    """Build the deformable conv a ``dcn=dict(type='DCN'|'DCNv2', deform_groups=...)`` names."""
    check_dcn(dcn, "dcn")
    cls = _TYPES[str(dcn["type"])]
    return cls(in_channels, out_channels, kernel_size, stride=stride, padding=padding, dilation=dilation,
               groups=groups, deform_groups=int(dcn.get("deform_groups", 1)), bias=bias)


def rename_legacy_offsets(module: nn.Module, state_dict: dict[str, Any], prefix: str) -> None:
    """Move MMDetection 1.x offset keys (``{prefix}conv2_offset.*``) to ``{prefix}conv2.conv_offset.*``.

    Called by a block's ``_load_from_state_dict`` for each deformable child: the old key sits beside the
    conv, so only the parent sees it (torch hands each child just the keys under its own prefix).
    """
    for name, child in module.named_children():
        if not isinstance(child, DeformConv2dPack):
            continue
        for param in ("weight", "bias"):
            new, old = f"{prefix}{name}.conv_offset.{param}", f"{prefix}{name}_offset.{param}"
            if new not in state_dict and old in state_dict:
                state_dict[new] = state_dict.pop(old)
