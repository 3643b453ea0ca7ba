"""The part every residual block shares: named norms, the shortcut sum, activation checkpointing."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.utils.checkpoint as cp
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from .norm import build_norm_layer

__all__ = ["ResidualBlockBase", "init_residual_weights"]


class ResidualBlockBase(nn.Module):
    """``relu(residual(x) + shortcut(x))``: a subclass adds its convs, norms (through
    :meth:`_add_norm`, so they carry MMCV's names ``bn1``/``gn1``, ...) and ``_residual``.

    Args:
        downsample: the shortcut's module (``None``: identity), kept as ``downsample`` so its
            checkpoint keys are ``downsample.*``.
        with_cp: recompute the block in the backward pass (``torch.utils.checkpoint``) to save
            memory while training.

    Shapes: ``(N, C_in, H, W) -> (N, C_out, H', W')`` as the subclass's convs decide.
    """

    expansion = 1

    def __init__(self, downsample: nn.Module | None = None, with_cp: bool = False) -> None:
        super().__init__()
        self.with_cp = with_cp
        self.downsample = downsample
        self.relu = nn.ReLU(inplace=True)
        self.norm_names: list[str] = []

    def _add_norm(self, norm_cfg: Mapping[str, Any], channels: int, index: int) -> None:
        """Add the ``index``-th (1-based) norm layer under its MMCV name (``bn2``, ``gn2``, ...)."""
        name, layer = build_norm_layer(norm_cfg, channels, postfix=index)
        self.add_module(name, layer)
        self.norm_names.append(name)

    def norm(self, index: int) -> nn.Module:
        """The ``index``-th norm layer (1-based), whatever its name."""
        return getattr(self, self.norm_names[index - 1])

    @property
    def last_norm(self) -> nn.Module:
        """The norm closing the residual branch (zeroed by ``zero_init_residual``)."""
        return getattr(self, self.norm_names[-1])

    def _residual(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} must implement _residual(x)")

    def _inner_forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        return self._residual(x) + identity

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.with_cp and x.requires_grad and torch.is_grad_enabled():
            out = cp.checkpoint(self._inner_forward, x, use_reentrant=False)
        else:
            out = self._inner_forward(x)
        return self.relu(out)


def init_residual_weights(module: nn.Module, zero_init_residual: bool = False) -> None:
    """MMDetection's init of residual networks (ResNet, HRNet): Kaiming-normal (``fan_out``) convs,
    unit-weight zero-bias norms and, with ``zero_init_residual``, a zero last norm in every
    :class:`ResidualBlockBase` (each block then starts as its shortcut)."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, (_BatchNorm, nn.GroupNorm)) and m.weight is not None:
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    if zero_init_residual:
        for m in module.modules():
            if isinstance(m, ResidualBlockBase):
                weight = m.last_norm.weight
                assert isinstance(weight, torch.Tensor)
                nn.init.zeros_(weight)
