"""Build an optimizer from ``optimizer=dict(type=..., lr=..., paramwise_cfg=...)`` (MMCV semantics)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.instancenorm import _InstanceNorm

from ..errors import ComponentArgumentError, ConfigError, UnknownComponentError
from ..registry import check_arguments, resolve, signature_text

__all__ = ["build_optimizer", "resolve_optimizer_type", "paramwise_groups"]

_PARAMWISE_KEYS = {"custom_keys", "bias_lr_mult", "bias_decay_mult", "norm_decay_mult",
                   "dwconv_decay_mult", "bypass_duplicate"}
_NORMS = (_BatchNorm, _InstanceNorm, nn.GroupNorm, nn.LayerNorm)


def resolve_optimizer_type(name: Any) -> Any:
    """The optimizer class for ``name``: group ``segdet.optimizers`` first, then ``torch.optim``."""
    if not isinstance(name, str):
        return name
    try:
        return resolve(name, "optimizers", "optimizer.type")
    except UnknownComponentError as err:
        cls = getattr(torch.optim, name, None)
        if isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer):
            return cls
        raise UnknownComponentError(f"{err} torch.optim has no optimizer {name!r} either.") from None


def build_optimizer(model: nn.Module, cfg: Mapping[str, Any]) -> torch.optim.Optimizer:
    """``optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4,
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))`` -> optimizer over ``model``.

    ``paramwise_cfg`` keys (MMCV's DefaultOptimizerConstructor): ``custom_keys``
    (the longest matching key wins; ``lr_mult``, ``decay_mult``), ``bias_lr_mult``,
    ``bias_decay_mult``, ``norm_decay_mult``, ``dwconv_decay_mult``, ``bypass_duplicate``.
    """
    cfg = dict(cfg)
    if "type" not in cfg:
        raise ConfigError(f"optimizer: missing 'type' (e.g. 'SGD'); got keys {sorted(cfg)}")
    cls = resolve_optimizer_type(cfg.pop("type"))
    paramwise_cfg = dict(cfg.pop("paramwise_cfg", None) or {})
    problems = check_arguments(cls, {"params": None, **cfg}, "optimizer", getattr(cls, "__name__", ""))
    if problems:
        raise ComponentArgumentError("\n".join(problems) + f"\nsignature: {signature_text(cls)}")
    model = getattr(model, "module", model)
    if not paramwise_cfg:
        return cls(model.parameters(), **cfg)
    params = paramwise_groups(model, paramwise_cfg, cfg.get("lr"), cfg.get("weight_decay"))
    return cls(params, **cfg)


def paramwise_groups(model: nn.Module, paramwise_cfg: Mapping[str, Any], base_lr: float | None,
                     base_wd: float | None) -> list[dict[str, Any]]:
    """One param group per parameter, with ``lr`` / ``weight_decay`` multiplied as configured."""
    unknown = set(paramwise_cfg) - _PARAMWISE_KEYS
    if unknown:
        raise ConfigError(f"optimizer.paramwise_cfg: unknown keys {sorted(unknown)}; "
                          f"expected some of {sorted(_PARAMWISE_KEYS)}")
    custom_keys = dict(paramwise_cfg.get("custom_keys", {}) or {})
    if base_wd is None and any(k in paramwise_cfg for k in
                               ("bias_decay_mult", "norm_decay_mult", "dwconv_decay_mult")):
        raise ConfigError("optimizer.paramwise_cfg sets a decay multiplier but optimizer.weight_decay is not set")
    for key, value in custom_keys.items():
        if base_wd is None and "decay_mult" in value:
            raise ConfigError(f"optimizer.paramwise_cfg.custom_keys.{key}.decay_mult needs optimizer.weight_decay")
    groups: list[dict[str, Any]] = []
    _add_params(groups, model, "", paramwise_cfg, custom_keys, base_lr, base_wd)
    return groups


def _add_params(groups: list[dict[str, Any]], module: nn.Module, prefix: str, pcfg: Mapping[str, Any],
                custom_keys: dict[str, Any], base_lr: float | None, base_wd: float | None) -> None:
    sorted_keys = sorted(sorted(custom_keys), key=len, reverse=True)
    is_norm = isinstance(module, _NORMS)
    is_dwconv = isinstance(module, nn.Conv2d) and module.in_channels == module.groups
    for name, param in module.named_parameters(recurse=False):
        group: dict[str, Any] = {"params": [param]}
        if not param.requires_grad:
            groups.append(group)
            continue
        if pcfg.get("bypass_duplicate", False) and any(param is p for g in groups for p in g["params"]):
            continue
        full_name = f"{prefix}.{name}"
        key = next((k for k in sorted_keys if k in full_name), None)
        if key is not None:
            if base_lr is not None:
                group["lr"] = base_lr * custom_keys[key].get("lr_mult", 1.0)
            if base_wd is not None:
                group["weight_decay"] = base_wd * custom_keys[key].get("decay_mult", 1.0)
        else:
            if name == "bias" and not is_norm and base_lr is not None:
                group["lr"] = base_lr * pcfg.get("bias_lr_mult", 1.0)
            if base_wd is not None:
                if is_norm:
                    group["weight_decay"] = base_wd * pcfg.get("norm_decay_mult", 1.0)
                elif is_dwconv:
                    group["weight_decay"] = base_wd * pcfg.get("dwconv_decay_mult", 1.0)
                elif name == "bias":
                    group["weight_decay"] = base_wd * pcfg.get("bias_decay_mult", 1.0)
        groups.append(group)
    for child_name, child in module.named_children():
        child_prefix = f"{prefix}.{child_name}" if prefix else child_name
        _add_params(groups, child, child_prefix, pcfg, custom_keys, base_lr, base_wd)
