"""Normalization and activation layers from MMCV-style config dicts."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

__all__ = ["build_norm_layer", "build_activation_layer", "norm_abbr"]

_NORMS: dict[str, tuple[str, type[nn.Module]]] = {
    "BN": ("bn", nn.BatchNorm2d),
    "BN1d": ("bn", nn.BatchNorm1d),
    "BN2d": ("bn", nn.BatchNorm2d),
    "SyncBN": ("bn", nn.SyncBatchNorm),
    "GN": ("gn", nn.GroupNorm),
    "LN": ("ln", nn.LayerNorm),
    "IN": ("in", nn.InstanceNorm2d),
}


def norm_abbr(cfg: Mapping[str, Any]) -> str:
    """``'bn'``, ``'gn'``, ... : the attribute name MMCV gives this norm layer."""
    kind = cfg.get("type", "BN")
    if kind not in _NORMS:
        raise ValueError(f"norm_cfg.type {kind!r} is not one of {sorted(_NORMS)}")
    return _NORMS[kind][0]


def build_norm_layer(cfg: Mapping[str, Any], num_features: int, postfix: int | str = "") -> tuple[str, nn.Module]:
    """Build a norm layer; returns ``(name, layer)`` with MMCV's names (``bn1``, ``gn``).

    Args:
        cfg: ``dict(type='BN'|'SyncBN'|'GN'|'LN'|'IN', requires_grad=True, eps=..., momentum=...,
            num_groups=...)`` (``num_groups`` for GN only).
        num_features: channels to normalize.
        postfix: appended to the name, as in ``bn1``.
    """
    cfg = dict(cfg)
    kind = cfg.pop("type", "BN")
    requires_grad = cfg.pop("requires_grad", True)
    abbr = norm_abbr({"type": kind})
    layer_cls = _NORMS[kind][1]
    if kind == "GN":
        if "num_groups" not in cfg:
            raise ValueError("norm_cfg of type 'GN' needs num_groups, e.g. dict(type='GN', num_groups=32)")
        layer = layer_cls(num_channels=num_features, **cfg)
    elif kind == "LN":
        layer = layer_cls(num_features, **cfg)
    else:
        layer = layer_cls(num_features, **cfg)
    for p in layer.parameters():
        p.requires_grad = requires_grad
    return f"{abbr}{postfix}", layer


_ACTS: dict[str, type[nn.Module]] = {
    "ReLU": nn.ReLU,
    "ReLU6": nn.ReLU6,
    "LeakyReLU": nn.LeakyReLU,
    "PReLU": nn.PReLU,
    "ELU": nn.ELU,
    "GELU": nn.GELU,
    "SiLU": nn.SiLU,
    "Swish": nn.SiLU,
    "Sigmoid": nn.Sigmoid,
    "Tanh": nn.Tanh,
    "HSwish": nn.Hardswish,
    "HSigmoid": nn.Hardsigmoid,
}


def build_activation_layer(cfg: Mapping[str, Any]) -> nn.Module:
    """``dict(type='ReLU', inplace=True)`` -> ``nn.ReLU(inplace=True)``."""
    cfg = dict(cfg)
    kind = cfg.pop("type")
    if kind not in _ACTS:
        raise ValueError(f"act_cfg.type {kind!r} is not one of {sorted(_ACTS)}")
    if kind in ("GELU", "Sigmoid", "Tanh", "PReLU"):
        cfg.pop("inplace", None)
    return _ACTS[kind](**cfg)
