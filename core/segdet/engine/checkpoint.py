"""Save and load checkpoints. Every write is atomic: a killed process leaves the old file intact.

A checkpoint is a dict ``{'meta', 'state_dict', 'optimizer', ...}`` as in MMCV;
runners add ``'hooks'`` (states of hooks such as the LR schedule), ``'grad_scaler'``
and ``'rng'`` (python, numpy and torch generator states) for exact resumption.

Every file is read with ``torch.load(weights_only=True)``: a checkpoint cannot run
code when it is loaded. So that resume state loads that way too, :func:`write_checkpoint`
stores only tensors, numbers, strings and plain containers (numpy arrays become
tensors, numpy scalars Python numbers). Checkpoints written by older versions, which
hold numpy arrays, load through an explicit allow-list of numpy's array reconstructors.
"""
from __future__ import annotations

import glob
import logging
import os
import random
import re
import shutil
import tempfile
import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from ..errors import CheckpointError, UnsafeCheckpointError
from ..models.weights import safe_torch_load
from .load_report import LoadReport, fit_state_dict

__all__ = [
    "atomic_write",
    "save_checkpoint",
    "write_checkpoint",
    "copy_checkpoint",
    "load_checkpoint",
    "load_weights",
    "LoadReport",
    "read_checkpoint",
    "get_state_dict",
    "weights_to_cpu",
    "unwrap_model",
    "find_latest_checkpoint",
    "find_resumable_checkpoint",
    "remove_stale_tmp_files",
    "safe_torch_load",
    "to_storable",
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


def to_storable(obj: Any, where: str = "checkpoint") -> Any:
    """``obj`` in a form ``torch.load(weights_only=True)`` reads back: tensors, ``None``, bools,
    numbers, strings, bytes, dtypes, devices and (ordered) dicts, lists, tuples, sets of those.

    numpy arrays become tensors (object arrays lists), numpy scalars Python numbers,
    subclasses of str/int/float (``torch.__version__``, enums) their base type. Other
    objects are an error naming their place (``where``), except under ``meta``, which
    only informs and keeps their ``str``.
    """
    if obj is None or type(obj) in (bool, int, float, complex, str, bytes):
        return obj
    if isinstance(obj, (torch.Tensor, torch.dtype, torch.device, torch.Size)):
        return obj
    if isinstance(obj, np.ndarray):
        return obj.tolist() if obj.dtype == object else torch.from_numpy(np.array(obj, copy=True))
    if isinstance(obj, np.generic):
        return obj.item()
    for base in (bool, int, float, str):
        if isinstance(obj, base):
            return base(obj)
    if isinstance(obj, bytes):
        return bytes(obj)
    if isinstance(obj, Mapping):
        items = ((to_storable(k, where), to_storable(v, f"{where}[{k!r}]")) for k, v in obj.items())
        return OrderedDict(items) if isinstance(obj, OrderedDict) else dict(items)
    if isinstance(obj, (list, tuple, set, frozenset)):
        values = [to_storable(v, f"{where}[{i}]") for i, v in enumerate(obj)]
        if isinstance(obj, list):
            return values
        return set(values) if isinstance(obj, (set, frozenset)) else tuple(values)  # namedtuples too
    if where.startswith("checkpoint['meta']"):
        return str(obj)
    raise CheckpointError(
        f"{where} is a {type(obj).__module__}.{type(obj).__qualname__}; a checkpoint holds only tensors, "
        "numbers, strings and plain containers so it loads with torch.load(weights_only=True). "
        "Return plain values from state_dict() methods")


def write_checkpoint(checkpoint: Mapping[str, Any], path: str) -> None:
    """``torch.save`` ``checkpoint`` (made :func:`to_storable`) to ``path`` atomically."""
    storable = to_storable(dict(checkpoint))
    atomic_write(path, lambda f: torch.save(storable, f))


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
    """Read a checkpoint file with ``torch.load(weights_only=True)``, naming the file in any error
    (:class:`~segdet.errors.UnsafeCheckpointError` for a file holding arbitrary Python objects)."""
    checkpoint = safe_torch_load(filename, map_location)
    if not isinstance(checkpoint, dict):
        raise CheckpointError(f"checkpoint {filename!r} holds a {type(checkpoint).__name__}, not a dict")
    return checkpoint


def load_checkpoint(model: nn.Module, filename: str, map_location: Any = "cpu", strict: bool = False,
                    logger: logging.Logger | None = None, allow_shape_mismatch: bool = True,
                    min_loaded_fraction: float = 0.0) -> dict[str, Any]:
    """Load the weights of ``filename`` into ``model`` and return the whole checkpoint.

    As MMCV's ``load_checkpoint``: every tensor whose name and shape match is loaded; the
    others are skipped and a table of them (name, checkpoint shape, model shape; missing;
    unexpected) is logged as a warning, so fine-tuning from a checkpoint with another number
    of classes works. See :func:`load_weights` for the arguments.
    """
    return load_weights(model, filename, map_location, strict, logger, allow_shape_mismatch,
                        min_loaded_fraction)[0]


def load_weights(model: nn.Module, filename: str, map_location: Any = "cpu", strict: bool = False,
                 logger: logging.Logger | None = None, allow_shape_mismatch: bool = True,
                 min_loaded_fraction: float = 0.0) -> tuple[dict[str, Any], LoadReport]:
    """:func:`load_checkpoint` that also returns the :class:`LoadReport`.

    Args:
        strict: any difference (missing, unexpected, shape) is a :class:`CheckpointError`.
        allow_shape_mismatch: when False a tensor whose shape differs is an error (resuming).
        min_loaded_fraction: an error when fewer than this fraction of the model's tensors
            load (``segdet test`` refuses to evaluate a mostly random model).

    A ``module.`` prefix left by DataParallel is stripped.
    """
    checkpoint = read_checkpoint(filename, map_location)
    state = checkpoint.get("state_dict", checkpoint.get("model", checkpoint))
    if not isinstance(state, Mapping):
        raise CheckpointError(f"checkpoint {filename!r} holds no state dict")
    state = OrderedDict((k[7:] if k.startswith("module.") else k, v) for k, v in state.items())
    target = unwrap_model(model)
    loadable, report = fit_state_dict(state, target.state_dict(), filename)
    if report.mismatched and not allow_shape_mismatch:
        raise CheckpointError(f"{filename}: weights do not fit the model:\n{report.table()}")
    if report.loaded_fraction < min_loaded_fraction:
        examples = ", ".join(list(report.missing[:3]) + [n for n, _, _ in report.mismatched[:3]])
        raise CheckpointError(
            f"checkpoint {filename!r} fits only {len(report.loaded)} of the model's {report.model_total} "
            f"tensors (e.g. not {examples}); the rest would stay random. Is it a checkpoint of this config? "
            f"Check the file and the model.type/backbone of the config.\n{report.table()}")
    try:
        target.load_state_dict(loadable, strict=False)
    except RuntimeError as err:  # a module's own _load_from_state_dict refused a value
        raise CheckpointError(f"{filename}: weights do not fit the model: {err}") from err
    if not report.complete:
        if strict:
            raise CheckpointError(f"while loading {report.table()}")
        (logger or logging.getLogger("segdet")).warning(f"while loading {report.table()}")
    return checkpoint, report


_CKPT_NAME = re.compile(r"(?:epoch|iter)_(\d+)\.pth")


def find_latest_checkpoint(work_dir: str) -> str | None:
    """``latest.pth`` of ``work_dir`` if present, else the ``epoch_N``/``iter_N`` file with largest N."""
    candidates = _resume_candidates(work_dir)
    return candidates[0] if candidates else None


def _resume_candidates(work_dir: str) -> list[str]:
    """``epoch_N``/``iter_N`` files, largest N first, with ``latest.pth`` in front unless it is
    older than the newest of them (a kill between writing ``epoch_N.pth`` and copying it)."""
    numbered = []
    for path in glob.glob(os.path.join(glob.escape(work_dir), "*.pth")):
        match = _CKPT_NAME.fullmatch(os.path.basename(path))
        if match:
            numbered.append((int(match.group(1)), os.path.getmtime(path), path))
    numbered.sort(reverse=True)
    out = [p for _, _, p in numbered]
    latest = os.path.join(work_dir, "latest.pth")
    if os.path.isfile(latest):
        if numbered and os.path.getmtime(latest) < numbered[0][1]:
            out.insert(1, latest)
        else:
            out.insert(0, latest)
    return out


def find_resumable_checkpoint(work_dir: str, logger: logging.Logger | None = None,
                              map_location: Any = "cpu") -> tuple[str | None, list[tuple[str, str]]]:
    """The newest checkpoint of ``work_dir`` that loads and holds a resume point (``--auto-resume``).

    Files that are truncated, corrupt or lack ``meta.epoch``/``meta.iter`` are passed over
    (each is logged with the reason). A file refused as unsafe is not passed over: it raises
    :class:`~segdet.errors.UnsafeCheckpointError`, since someone put code in the work dir.

    Returns:
        ``(path or None, [(skipped_path, reason), ...])``.
    """
    log = logger or logging.getLogger("segdet")
    skipped: list[tuple[str, str]] = []
    for path in _resume_candidates(work_dir):
        try:
            ckpt = read_checkpoint(path, map_location)
        except UnsafeCheckpointError as err:
            raise UnsafeCheckpointError(
                f"auto-resume: {err}. Remove {path!r} from the work dir (or give --resume-from a "
                "checkpoint you trust) and run again") from err
        except CheckpointError as err:
            reason = str(err)
        else:
            meta = ckpt.get("meta")
            if isinstance(meta, Mapping) and "epoch" in meta and "iter" in meta:
                for bad, why in skipped:
                    log.warning(f"auto-resume: passed over {bad}: {why}")
                return path, skipped
            reason = "no epoch/iter in its meta (a weights-only file, not a resume point)"
        skipped.append((path, reason))
    for bad, why in skipped:
        log.warning(f"auto-resume: passed over {bad}: {why}")
    return None, skipped


_TMP_NAME = re.compile(r"\..+\.pth\.[^.]+\.tmp|.+\.pth\.tmp")


def remove_stale_tmp_files(work_dir: str, logger: logging.Logger | None = None,
                           older_than: float = 0.0) -> list[str]:
    """Delete temporary files left in ``work_dir`` by checkpoint writes that were killed.

    :func:`atomic_write` names them ``.<name>.pth.<random>.tmp``; only such names are
    touched (and only those last modified more than ``older_than`` seconds ago).
    Returns the removed paths.
    """
    removed = []
    now = time.time()
    for path in glob.glob(os.path.join(glob.escape(work_dir), "*.tmp")) + \
            glob.glob(os.path.join(glob.escape(work_dir), ".*.tmp")):
        if not _TMP_NAME.fullmatch(os.path.basename(path)) or path in removed:
            continue
        try:
            if now - os.path.getmtime(path) < older_than:
                continue
            os.remove(path)
        except OSError:
            continue
        removed.append(path)
    if removed:
        (logger or logging.getLogger("segdet")).warning(
            f"removed {len(removed)} temporary file{'s' if len(removed) != 1 else ''} left by an interrupted "
            "checkpoint write: "
            + ", ".join(os.path.basename(p) for p in removed))
    return removed


def get_rng_state() -> dict[str, Any]:
    """Generator states of python, numpy, torch (and CUDA when available)."""
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": _numpy_state_storable(np.random.get_state()),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Mapping[str, Any]) -> None:
    if "python" in state:
        random.setstate(state["python"])
    if "numpy" in state:
        np.random.set_state(_numpy_state_from_storable(state["numpy"]))
    if "torch" in state:
        torch.set_rng_state(state["torch"].cpu() if isinstance(state["torch"], torch.Tensor) else state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        cuda_states = state["cuda"]
        if len(cuda_states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda_states)


def _numpy_state_storable(state: Any) -> tuple[Any, ...]:
    """``np.random.get_state()`` with its key array as an int64 tensor (loads under weights_only)."""
    name, keys, pos, has_gauss, cached = state
    return (str(name), torch.from_numpy(np.asarray(keys, dtype=np.int64)), int(pos), int(has_gauss),
            float(cached))


def _numpy_state_from_storable(state: Any) -> tuple[Any, ...]:
    name, keys, pos, has_gauss, cached = state
    if isinstance(keys, torch.Tensor):
        keys = keys.numpy()
    return (name, np.asarray(keys, dtype=np.uint32), int(pos), int(has_gauss), float(cached))
