"""Runners: the training loop, by epoch or by iteration.

``runner=dict(type=...)`` names a runner of entry-point group ``segdet.runners`` (the core
registers ``EpochBasedRunner``, ``IterBasedRunner`` and ``EpochBasedRunnerAmp`` in its
``pyproject.toml``; a plugin adds its own the same way). A runner counts iterations when it
subclasses :class:`IterBasedRunner` (its budget is ``max_iters``), epochs otherwise
(``max_epochs``).
"""
from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from ...errors import ConfigError
from ...registry import resolve
from .base import BaseRunner, to_device
from .epoch_based import EpochBasedRunner
from .epoch_based_amp import EpochBasedRunnerAmp
from .iter_based import IterBasedRunner, IterLoader

__all__ = ["BaseRunner", "ENGINE_ARGS", "EpochBasedRunner", "EpochBasedRunnerAmp", "IterBasedRunner", "IterLoader",
           "build_runner", "runner_budget", "runner_class", "runner_config_keys", "to_device"]

#: constructor arguments the engine supplies; a config's ``runner`` gives the others (its budget)
ENGINE_ARGS = ("model", "optimizer", "work_dir", "logger", "meta", "step_module", "device", "amp", "rank",
               "world_size", "timestamp")
_BUDGETS = ("max_epochs", "max_iters")


def runner_class(kind: Any, where: str = "runner.type") -> type[BaseRunner]:
    """The runner class ``kind`` names in group ``runners`` (or ``kind`` itself when it is a class).

    Raises:
        UnknownComponentError: no runner of that name is installed (with the closest names).
        ConfigError: what the name resolves to is not a :class:`BaseRunner`.
    """
    cls = resolve(kind, "runners", where) if isinstance(kind, str) else kind
    if not (isinstance(cls, type) and issubclass(cls, BaseRunner)):
        raise ConfigError(f"{where}: {kind!r} is not a runner (a subclass of segdet's BaseRunner)")
    return cls


def runner_budget(cls: type[BaseRunner]) -> str:
    """``'max_iters'`` for an iteration-based runner, else ``'max_epochs'``."""
    return "max_iters" if issubclass(cls, IterBasedRunner) else "max_epochs"


def runner_config_keys(cls: type[BaseRunner]) -> set[str]:
    """Keys a config's ``runner`` may give besides ``type``: the budget and the runner's own arguments."""
    budget = runner_budget(cls)
    params = inspect.signature(cls).parameters
    return {budget} | {n for n in params if n not in ENGINE_ARGS and n not in _BUDGETS}


def build_runner(cfg: Mapping[str, Any], default_args: Mapping[str, Any]) -> BaseRunner:
    """``runner=dict(type='EpochBasedRunner', max_epochs=12)`` (or ``IterBasedRunner, max_iters``)."""
    cfg = dict(cfg)
    kind = cfg.pop("type", "EpochBasedRunner")
    cls = runner_class(kind)
    allowed = runner_config_keys(cls)
    unknown = set(cfg) - allowed
    if unknown:
        raise ConfigError(f"runner: {cls.__name__} does not take {sorted(unknown)}; it takes {sorted(allowed)}")
    return cls(**{**dict(default_args), **cfg})
