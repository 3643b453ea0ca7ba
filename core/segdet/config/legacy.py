"""Older MMDetection layouts moved to where the model reads them, with a deprecation line.

MMDetection 1.x/early 2.x configs put ``train_cfg``, ``test_cfg`` and ``pretrained`` beside
``model``; 2.x reads them inside it. A config written the old way would otherwise build a model
without its assigner or test settings and train silently wrong. A top-level ``pretrained`` whose
value the model already uses (``init_cfg=dict(type='Pretrained', checkpoint=pretrained)``, as the
Swin configs write it) is a helper variable and stays where it is.
"""
from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError
from .configdict import ConfigDict

__all__ = ["LEGACY_MODEL_KEYS", "upgrade_legacy_keys"]

#: top-level keys that belong inside ``model``
LEGACY_MODEL_KEYS = ("train_cfg", "test_cfg", "pretrained")


def _mentions(tree: Any, value: Any) -> bool:
    if isinstance(tree, Mapping):
        return any(_mentions(v, value) for v in tree.values())
    if isinstance(tree, (list, tuple)):
        return any(_mentions(v, value) for v in tree)
    return bool(tree == value)


def upgrade_legacy_keys(cfg: Any, source: str = "config") -> list[str]:
    """Move top-level ``train_cfg``/``test_cfg``/``pretrained`` into ``cfg.model``, in place.

    Returns the deprecation messages (also issued as ``DeprecationWarning``s).

    Raises:
        ConfigError: a key is set both at the top level and inside ``model`` (MMDetection refuses
            this too: which one was meant cannot be known).
    """
    tree = getattr(cfg, "_cfg_dict", cfg)
    model = tree.get("model") if isinstance(tree, Mapping) else None
    if not isinstance(model, ConfigDict):
        return []
    messages = []
    for key in LEGACY_MODEL_KEYS:
        if key not in tree or tree[key] is None:
            continue
        if key == "pretrained" and ("pretrained" in model or _mentions(model, tree[key])):
            # a helper variable (Swin configs: init_cfg=dict(checkpoint=pretrained)), or the model
            # says what it wants itself (model.pretrained=None)
            continue
        outer_at = tree.origin_of(key) if isinstance(tree, ConfigDict) else None
        if model.get(key) is not None:
            inner_at = model.origin_of(key)
            raise ConfigError(
                f"{source}: {key} is set both at the top level ({outer_at or 'top level'}) and in "
                f"model.{key} ({inner_at or 'model'}); keep only model.{key}"
            )
        chain = tree._chain(key)
        value = dict.pop(tree, key)
        if tree._cd_origins:
            tree._cd_origins.pop(key, None)
        dict.__setitem__(model, key, value)
        model._set_chain(key, chain)
        message = (f"{source}: top-level {key} (set at {outer_at or 'top level'}) is deprecated; "
                   f"it was moved to model.{key}. Write it inside model=dict(...).")
        warnings.warn(message, DeprecationWarning, stacklevel=2)
        messages.append(message)
    return messages
