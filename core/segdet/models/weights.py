"""Load pretrained weights from a local path or a reachable URL, through one cache.

Every file is read by :func:`safe_torch_load`: ``torch.load(weights_only=True)``, so a
file cannot run code while it is unpickled, and any failure names the file.
"""
from __future__ import annotations

import os
import pickle
import re
import warnings
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ..errors import CheckpointError, UnsafeCheckpointError

__all__ = ["load_backbone_pretrained", "load_state_dict_file", "load_pretrained", "safe_torch_load"]


def _numpy_array_globals() -> list[Any]:
    """numpy's array and scalar reconstructors: checkpoints of older segdet versions (and of
    MMCV) hold numpy RNG states. These rebuild plain arrays and call nothing else."""
    import numpy as np

    try:
        from numpy._core import multiarray
    except ImportError:  # numpy < 2
        from numpy.core import multiarray  # type: ignore[no-redef]
    return [np.ndarray, np.dtype, multiarray._reconstruct, multiarray.scalar,
            *(getattr(np.dtypes, name) for name in getattr(np.dtypes, "__all__", ()))]


def safe_torch_load(path: str, map_location: Any = "cpu") -> Any:
    """``torch.load(path, weights_only=True)`` with numpy arrays allowed; errors name ``path``.

    Raises:
        UnsafeCheckpointError: the file holds other Python objects (a pickle that could run
            code when loaded is one of them); nothing of it was executed.
        CheckpointError: the file is missing, truncated or not a checkpoint.
    """
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint file {path!r} does not exist")
    try:
        with torch.serialization.safe_globals(_numpy_array_globals()):
            return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        text = str(err)
        if not any(mark in text for mark in ("GLOBAL", "allowlisted", "Unsupported class", "safe_globals")):
            raise CheckpointError(f"cannot read checkpoint {path!r}: the file is corrupt or truncated "
                                  f"({_first_line(text)})") from err
        found = re.search(r"GLOBAL ([\w.]+)", text)
        what = f"the Python object {found.group(1)}" if found else "Python objects"
        raise UnsafeCheckpointError(
            f"refused to load checkpoint {path!r}: it holds {what}, and unpickling it could run code. "
            "segdet reads checkpoints with torch.load(weights_only=True), which accepts tensors, numbers, "
            "strings and plain containers only. Use a checkpoint from a source you trust; if this file is "
            "yours, load it once in Python and re-save only its tensors "
            "(torch.save({'state_dict': model.state_dict()}, path))") from err
    except Exception as err:
        raise CheckpointError(f"cannot read checkpoint {path!r}: the file is corrupt, truncated or not a "
                              f"PyTorch checkpoint ({type(err).__name__}: {_first_line(str(err))})") from err


def _first_line(text: str) -> str:
    """The first sentence of an error text (torch's run on for several lines)."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0].split(". ")[0].rstrip(".") if lines else ""


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
    ckpt: Any = safe_torch_load(path, map_location)
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


def load_backbone_pretrained(module: nn.Module, checkpoint: str, prefix: str | None = None) -> list[str]:
    """Load a backbone's ``init_cfg`` checkpoint: its own weights, or a whole model's.

    Without ``prefix``, a file none of whose keys fit (a whole detector or segmentor) is read
    again under ``backbone.``. Keys still missing stay at their initial values, with a warning
    naming the backbone, the file and the first few keys.

    Returns:
        The missing keys.
    """
    missing, _ = load_pretrained(module, checkpoint, prefix=prefix)
    if prefix is None and {name for name, _ in module.named_parameters()} <= set(missing):
        missing, _ = load_pretrained(module, checkpoint, prefix="backbone.")
    if missing:
        warnings.warn(f"{type(module).__name__}: {len(missing)} keys missing in {checkpoint} (kept at their "
                      f"initial values), e.g. {missing[:5]}", stacklevel=3)
    return missing
