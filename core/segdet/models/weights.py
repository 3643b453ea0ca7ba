"""Load pretrained weights from a local path or a reachable URL, through one cache."""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ..errors import CheckpointError

__all__ = ["load_state_dict_file", "load_pretrained"]


def _cache_dir() -> str:
    return os.environ.get("SEGDET_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "segdet"))


def load_state_dict_file(path: str, map_location: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    """Read a checkpoint and return its state dict (``state_dict`` / ``model`` unwrapped).

    ``path`` is a local file or an ``http(s)://`` URL, fetched once into ``$SEGDET_CACHE``.
    """
    if path.startswith(("http://", "https://")):
        os.makedirs(_cache_dir(), exist_ok=True)
        local = os.path.join(_cache_dir(), os.path.basename(path.split("?")[0]))
        if not os.path.exists(local):
            torch.hub.download_url_to_file(path, local, progress=False)
        path = local
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint file {path!r} does not exist; give a local path or a reachable URL")
    try:
        ckpt: Any = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as err:
        raise CheckpointError(f"cannot read checkpoint {path!r}: {err}") from err
    if isinstance(ckpt, Mapping):
        for key in ("state_dict", "model"):
            if key in ckpt and isinstance(ckpt[key], Mapping):
                ckpt = ckpt[key]
                break
    if not isinstance(ckpt, Mapping):
        raise CheckpointError(f"checkpoint {path!r} holds no state dict")
    return {k[7:] if k.startswith("module.") else k: v for k, v in ckpt.items()}


def load_pretrained(module: nn.Module, checkpoint: str, prefix: str | None = None,
                    strict: bool = False) -> tuple[list[str], list[str]]:
    """Load ``checkpoint`` into ``module`` (``init_cfg=dict(type='Pretrained', checkpoint=...)``).

    Args:
        prefix: keep only keys under this prefix and strip it (e.g. ``'backbone.'``).
        strict: raise on missing or unexpected keys.

    Returns:
        ``(missing_keys, unexpected_keys)``.
    """
    state = load_state_dict_file(checkpoint)
    if prefix:
        p = prefix if prefix.endswith(".") else prefix + "."
        state = {k[len(p):]: v for k, v in state.items() if k.startswith(p)}
    result = module.load_state_dict(state, strict=False)
    if strict and (result.missing_keys or result.unexpected_keys):
        raise CheckpointError(
            f"{checkpoint}: missing keys {result.missing_keys[:10]}, unexpected keys {result.unexpected_keys[:10]}"
        )
    return list(result.missing_keys), list(result.unexpected_keys)
