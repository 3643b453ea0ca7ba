"""Runners: the training loop, by epoch or by iteration."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...errors import ConfigError
from .base import BaseRunner, to_device
from .epoch_based import EpochBasedRunner
from .epoch_based_amp import EpochBasedRunnerAmp
from .iter_based import IterBasedRunner, IterLoader

__all__ = ["BaseRunner", "EpochBasedRunner", "EpochBasedRunnerAmp", "IterBasedRunner", "IterLoader", "RUNNERS", "build_runner", "to_device"]

RUNNERS: dict[str, type[BaseRunner]] = {"EpochBasedRunner": EpochBasedRunner, "IterBasedRunner": IterBasedRunner,
                                        "EpochBasedRunnerAmp": EpochBasedRunnerAmp}


def build_runner(cfg: Mapping[str, Any], default_args: Mapping[str, Any]) -> BaseRunner:
    """``runner=dict(type='EpochBasedRunner', max_epochs=12)`` (or ``IterBasedRunner, max_iters``)."""
    cfg = dict(cfg)
    kind = cfg.pop("type", "EpochBasedRunner")
    if kind not in RUNNERS:
        import difflib

        close = difflib.get_close_matches(str(kind), list(RUNNERS), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"runner.type: unknown runner {kind!r}; use one of {sorted(RUNNERS)}{hint}")
    allowed = {"max_iters"} if issubclass(RUNNERS[kind], IterBasedRunner) else {"max_epochs"}
    unknown = set(cfg) - allowed
    if unknown:
        raise ConfigError(f"runner: {kind} does not take {sorted(unknown)}; it takes {sorted(allowed)}")
    return RUNNERS[kind](**{**dict(default_args), **cfg})
