"""What a run records about its environment: versions of segdet and plugins, git hash, seeds."""
from __future__ import annotations

import os
import platform
import random
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

__all__ = ["collect_env", "plugin_versions", "plugins_used", "get_git_hash", "set_random_seed", "init_random_seed"]


def plugin_versions() -> dict[str, str]:
    """``{distribution: version}`` of segdet and every installed distribution with segdet components."""
    from ..registry import discover

    versions: dict[str, str] = {}
    for info in discover():
        versions.setdefault(info.distribution, info.version)
    return dict(sorted(versions.items()))


def _type_names(cfg: Any) -> set[str]:
    names: set[str] = set()
    if isinstance(cfg, Mapping):
        kind = cfg.get("type")
        if isinstance(kind, str):
            names.add(kind.split(":", 1)[-1])
        policy = cfg.get("policy")
        if isinstance(policy, str):
            names.add(policy.title() if policy == policy.lower() else policy)
        for value in cfg.values():
            names |= _type_names(value)
    elif isinstance(cfg, (list, tuple)):
        for value in cfg:
            names |= _type_names(value)
    return names


def plugins_used(cfg: Any) -> dict[str, str]:
    """``{distribution: version}`` of the distributions providing a ``type`` named in ``cfg``."""
    from ..registry import discover

    names = _type_names(cfg)
    used = {info.distribution: info.version for info in discover() if info.name in names}
    return dict(sorted(used.items()))


def get_git_hash(cwd: str | None = None, digits: int | None = None) -> str:
    """The ``HEAD`` commit of the git checkout at ``cwd`` (or of segdet's sources), or ``'unknown'``."""
    where = cwd or os.path.dirname(os.path.abspath(__file__))
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True,
                             timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out[:digits] if digits else out


def collect_env() -> dict[str, Any]:
    """Python, torch, CUDA, segdet and plugin versions and the git hash, for logs and ``env.json``."""
    import segdet

    return {
        "sys.platform": sys.platform,
        "Python": sys.version.replace("\n", ""),
        "machine": platform.machine(),
        "PyTorch": torch.__version__,
        "CUDA available": torch.cuda.is_available(),
        "CUDA": torch.version.cuda,
        "GPUs": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())],
        "segdet": segdet.__version__,
        "git_hash": get_git_hash(),
        "plugins": plugin_versions(),
    }


def set_random_seed(seed: int, deterministic: bool = False) -> None:
    """Seed python, numpy and torch; ``deterministic`` also asks torch for deterministic kernels."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False


def init_random_seed(seed: int | None = None, device: str = "cpu") -> int:
    """``seed`` or a random one; in a distributed run every rank gets rank 0's."""
    if seed is not None:
        return int(seed)
    seed = int(np.random.randint(2**31))
    from .dist import get_dist_info

    rank, world_size = get_dist_info()
    if world_size == 1:
        return seed
    import torch.distributed as dist

    holder = [seed if rank == 0 else None]
    dist.broadcast_object_list(holder, src=0)
    return int(holder[0])  # type: ignore[arg-type]


