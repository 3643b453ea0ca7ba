"""Save and load checkpoints. Every write is atomic: a killed process leaves the old file intact.

A checkpoint is a dict ``{'meta', 'state_dict', 'optimizer', ...}`` as in MMCV;
runners add ``'hooks'`` (states of hooks such as the LR schedule), ``'grad_scaler'``
and ``'rng'`` (python, numpy and torch generator states) for exact resumption.
"""
from __future__ import annotations

import glob
import logging
import os
import random
import re
import shutil
import tempfile
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from ..errors import CheckpointError

__all__ = [
    "atomic_write",
    "save_checkpoint",
    "write_checkpoint",
    "copy_checkpoint",
    "load_checkpoint",
    "read_checkpoint",
    "get_state_dict",
    "weights_to_cpu",
    "unwrap_model",
    "find_latest_checkpoint",
    "get_rng_state",
    "set_rng_state",
]


def unwrap_model(model: nn.Module) -> nn.Module:
    """The user's model inside DistributedDataParallel / DataParallel / step adapters."""
    while hasattr(model, "module") and isinstance(model.module, nn.Module):
        model = model.module
    return model


def weights_to_cpu(state_dict: Mapping[str, Any]) -> OrderedDict[str, Any]:
    out: OrderedDict[str, Any] = OrderedDict()
    for key, val in state_dict.items():
        out[key] = val.detach().cpu() if isinstance(val, torch.Tensor) else val
    return out


def get_state_dict(model: nn.Module) -> OrderedDict[str, Any]:
    """State dict of the unwrapped model, with tensors on the CPU."""
    return weights_to_cpu(unwrap_model(model).state_dict())


def atomic_write(path: str, writer: Callable[[Any], None]) -> None:
    """Call ``writer(fileobj)`` on a temporary file beside ``path``, fsync it, then
    ``os.replace`` it onto ``path``; on any error the temporary file is removed."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            writer(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    _fsync_dir(directory)


def _fsync_dir(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def write_checkpoint(checkpoint: Mapping[str, Any], path: str) -> None:
    """``torch.save`` ``checkpoint`` to ``path`` atomically."""
    atomic_write(path, lambda f: torch.save(dict(checkpoint), f))


def copy_checkpoint(src: str, dst: str) -> None:
    """Copy ``src`` to ``dst`` atomically (``latest.pth``); a copy works across filesystems."""
    def _copy(f: Any) -> None:
        with open(src, "rb") as source:
            shutil.copyfileobj(source, f, length=16 * 1024 * 1024)

    atomic_write(dst, _copy)


def save_checkpoint(model: nn.Module, filename: str, optimizer: torch.optim.Optimizer | None = None,
                    meta: dict | None = None, **extra: Any) -> None:
    """Write ``{'meta', 'state_dict', 'optimizer', **extra}`` to ``filename`` atomically."""
    if meta is not None and not isinstance(meta, dict):
        raise TypeError(f"meta must be a dict or None, got {type(meta).__name__}")
    checkpoint: dict[str, Any] = {"meta": dict(meta or {}), "state_dict": get_state_dict(model)}
    if optimizer is not None:
        checkpoint["optimizer"] = optimizer.state_dict()
    checkpoint.update(extra)
    write_checkpoint(checkpoint, filename)


def read_checkpoint(filename: str, map_location: Any = "cpu") -> dict[str, Any]:
    """Read a checkpoint file (``torch.load``), naming the file in any error."""
    if not os.path.isfile(filename):
        raise CheckpointError(f"checkpoint file {filename!r} does not exist")
    try:
        checkpoint = torch.load(filename, map_location=map_location, weights_only=False)
    except Exception as err:
        raise CheckpointError(f"cannot read checkpoint {filename!r}: {type(err).__name__}: {err}") from err
    if not isinstance(checkpoint, dict):
        raise CheckpointError(f"checkpoint {filename!r} holds a {type(checkpoint).__name__}, not a dict")
    return checkpoint


def load_checkpoint(model: nn.Module, filename: str, map_location: Any = "cpu", strict: bool = False,
                    logger: logging.Logger | None = None) -> dict[str, Any]:
    """Load the weights of ``filename`` into ``model`` and return the whole checkpoint.

    Missing and unexpected keys are logged (and raise :class:`CheckpointError`
    when ``strict``); a ``module.`` prefix left by DataParallel is stripped.
    """
    checkpoint = read_checkpoint(filename, map_location)
    state = checkpoint.get("state_dict", checkpoint.get("model", checkpoint))
    if not isinstance(state, Mapping):
        raise CheckpointError(f"checkpoint {filename!r} holds no state dict")
    state = OrderedDict((k[7:] if k.startswith("module.") else k, v) for k, v in state.items())
    target = unwrap_model(model)
    try:
        result = target.load_state_dict(state, strict=False)
    except RuntimeError as err:  # shape mismatches are always errors
        raise CheckpointError(f"{filename}: weights do not fit the model: {err}") from err
    messages = []
    if result.unexpected_keys:
        messages.append(f"unexpected key in source state_dict: {', '.join(result.unexpected_keys)}")
    if result.missing_keys:
        messages.append(f"missing keys in source state_dict: {', '.join(result.missing_keys)}")
    if messages:
        text = f"while loading {filename}:\n" + "\n".join(messages)
        if strict:
            raise CheckpointError(text)
        (logger or logging.getLogger("segdet")).warning(text)
    return checkpoint


def find_latest_checkpoint(work_dir: str) -> str | None:
    """``latest.pth`` of ``work_dir`` if present, else the ``epoch_N``/``iter_N`` file with largest N."""
    latest = os.path.join(work_dir, "latest.pth")
    if os.path.isfile(latest):
        return latest
    best, best_n = None, -1
    for path in glob.glob(os.path.join(work_dir, "*.pth")):
        match = re.fullmatch(r"(?:epoch|iter)_(\d+)\.pth", os.path.basename(path))
        if match and int(match.group(1)) > best_n:
            best, best_n = path, int(match.group(1))
    return best


def get_rng_state() -> dict[str, Any]:
    """Generator states of python, numpy, torch (and CUDA when available)."""
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Mapping[str, Any]) -> None:
    if "python" in state:
        random.setstate(state["python"])
    if "numpy" in state:
        np.random.set_state(state["numpy"])
    if "torch" in state:
        torch.set_rng_state(state["torch"].cpu() if isinstance(state["torch"], torch.Tensor) else state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        cuda_states = state["cuda"]
        if len(cuda_states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda_states)
