"""Process-level settings a config carries: ``opencv_num_threads``, ``mp_start_method``,
``dist_params``, ``log_level`` (MMDetection 2.x's ``setup_multi_processes`` and friends).

Applied by ``segdet train`` / ``segdet test`` before data loaders start.
"""
from __future__ import annotations

import logging
import multiprocessing as mp
import os
import platform
import warnings
from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError

__all__ = ["RuntimeSettings", "apply_runtime", "dist_backend", "log_level"]

_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG", "NOTSET")


class RuntimeSettings(dict):
    """What :func:`apply_runtime` set, for the log (``{'mp_start_method': 'fork', ...}``)."""


def log_level(cfg: Mapping[str, Any]) -> int:
    """``log_level='INFO'`` (a name, case-insensitive, or a logging int) as a logging level."""
    value = cfg.get("log_level", "INFO")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.upper() in _LEVELS:
        return int(getattr(logging, value.upper()))
    raise ConfigError(f"log_level must be one of {', '.join(_LEVELS)} (or a logging int), got {value!r}")


def dist_backend(cfg: Mapping[str, Any]) -> str | None:
    """``dist_params=dict(backend='nccl'|'gloo'|'mpi')``: the process-group backend, or None (auto)."""
    params = cfg.get("dist_params") or {}
    if not isinstance(params, Mapping):
        raise ConfigError(f"dist_params must be a dict such as dict(backend='nccl'), got {params!r}")
    unknown = sorted(set(params) - {"backend", "port"})
    if unknown:
        raise ConfigError(f"dist_params: unknown key(s) {unknown}; known: backend, port")
    backend = params.get("backend")
    if backend is not None and backend not in ("nccl", "gloo", "mpi"):
        raise ConfigError(f"dist_params.backend must be 'nccl', 'gloo' or 'mpi', got {backend!r}")
    return backend


def apply_runtime(cfg: Mapping[str, Any], logger: logging.Logger | None = None) -> RuntimeSettings:
    """Set the multiprocessing start method, OpenCV's threads and, for several loader workers, one
    intra-op thread per worker process (unless the environment already says otherwise).

    Rules as MMDetection 2.x: ``mp_start_method`` default ``'fork'`` except on Windows;
    ``opencv_num_threads`` default 0 (OpenCV's own threads off: loader workers already run in
    parallel); ``OMP_NUM_THREADS``/``MKL_NUM_THREADS`` set to 1 when ``workers_per_gpu > 1`` and not
    set by the user, to avoid oversubscribing the cores.
    """
    import cv2

    done = RuntimeSettings()
    method = cfg.get("mp_start_method", "fork" if platform.system() != "Windows" else "spawn")
    if method not in mp.get_all_start_methods():
        raise ConfigError(f"mp_start_method {method!r} is not available here; "
                          f"choose one of {mp.get_all_start_methods()}")
    current = mp.get_start_method(allow_none=True)
    if current != method:
        if current is not None:
            warnings.warn(f"mp_start_method: multiprocessing already uses {current!r}; "
                          f"switching to {method!r} as the config asks", RuntimeWarning, stacklevel=2)
        mp.set_start_method(method, force=True)
    done["mp_start_method"] = method
    threads = cfg.get("opencv_num_threads", 0)
    if not isinstance(threads, int) or isinstance(threads, bool) or threads < 0:
        raise ConfigError(f"opencv_num_threads must be an int >= 0, got {threads!r}")
    cv2.setNumThreads(threads)
    done["opencv_num_threads"] = threads
    data = cfg.get("data") or {}
    workers = data.get("workers_per_gpu", 1) if isinstance(data, Mapping) else 1
    if isinstance(workers, int) and workers > 1:
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            if var not in os.environ:
                os.environ[var] = "1"
                done[var] = "1"
    if logger is not None:
        logger.info("runtime: " + ", ".join(f"{k}={v}" for k, v in done.items()))
    return done
