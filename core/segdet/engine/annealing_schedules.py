"""MMCV's remaining annealing policies: ``CosineRestart``, ``FlatCosineAnnealing``, ``LinearAnnealing``.

Each is a :class:`~segdet.engine.schedules.Schedule` registered in group ``segdet.schedulers``,
named by ``lr_config=dict(policy='CosineRestart', periods=[...], ...)``; progress counts
epochs or iterations as the hook's ``by_epoch`` says.
"""
from __future__ import annotations

import itertools
from collections.abc import Sequence

from ..errors import ConfigError
from .schedules import Schedule, annealing_cos, annealing_linear

__all__ = ["CosineRestartSchedule", "FlatCosineAnnealingSchedule", "LinearAnnealingSchedule"]


def _target(base: float, min_lr: float | None, min_lr_ratio: float | None) -> float:
    if min_lr_ratio is not None:
        return base * min_lr_ratio
    assert min_lr is not None
    return min_lr


def _one_of(policy: str, min_lr: float | None, min_lr_ratio: float | None) -> None:
    if (min_lr is None) == (min_lr_ratio is None):
        raise ConfigError(f"lr_config (policy={policy!r}): give exactly one of min_lr and min_lr_ratio")


class CosineRestartSchedule(Schedule):
    """Cosine annealing restarted at the end of each period (SGDR).

    Within period ``i`` (starting at ``sum(periods[:i])``), the value goes from
    ``target + restart_weights[i] * (base - target)`` down to ``target`` along a cosine:
    ``target + 0.5 * w * (base - target) * (1 + cos(pi * t / periods[i]))``.

    Args:
        periods: length of each period, in epochs or iterations.
        restart_weights: weight of the restart of each period (one per period). Default ``[1]``.
        min_lr / min_lr_ratio: the value at the end of every period (exactly one of them).
    """

    def __init__(self, periods: Sequence[int], restart_weights: Sequence[float] = (1,),
                 min_lr: float | None = None, min_lr_ratio: float | None = None) -> None:
        _one_of("CosineRestart", min_lr, min_lr_ratio)
        if not periods or any(not isinstance(p, int) or p <= 0 for p in periods):
            raise ConfigError(f"lr_config.periods must be positive ints, got {list(periods)!r}")
        if len(periods) != len(restart_weights):
            raise ConfigError(f"lr_config.periods ({len(periods)}) and restart_weights "
                              f"({len(restart_weights)}) must have the same length")
        self.periods = list(periods)
        self.restart_weights = [float(w) for w in restart_weights]
        self.cumulative = list(itertools.accumulate(self.periods))
        self.min_lr, self.min_lr_ratio = min_lr, min_lr_ratio

    def get_value(self, progress: int, max_progress: int, base: float, group: dict) -> float:
        idx = next((i for i, end in enumerate(self.cumulative) if progress < end), None)
        if idx is None:
            raise ConfigError(f"lr_config.periods {self.periods} end at {self.cumulative[-1]}, "
                              f"but training reached {progress}: make the periods cover the run")
        start = self.cumulative[idx - 1] if idx > 0 else 0
        alpha = min((progress - start) / self.periods[idx], 1.0)
        return annealing_cos(base, _target(base, self.min_lr, self.min_lr_ratio), alpha,
                             self.restart_weights[idx])


class FlatCosineAnnealingSchedule(Schedule):
    """Flat at ``base`` for the first ``start_percent`` of the run, then cosine to the target.

    Args:
        start_percent: fraction of the run (epochs or iterations) kept flat, in ``[0, 1)``.
            Default 0.75.
        min_lr / min_lr_ratio: the final value (exactly one of them).
    """

    def __init__(self, start_percent: float = 0.75, min_lr: float | None = None,
                 min_lr_ratio: float | None = None) -> None:
        _one_of("FlatCosineAnnealing", min_lr, min_lr_ratio)
        if not 0 <= start_percent < 1:
            raise ConfigError(f"lr_config.start_percent must be in [0, 1), got {start_percent!r}")
        self.start_percent = float(start_percent)
        self.min_lr, self.min_lr_ratio = min_lr, min_lr_ratio

    def get_value(self, progress: int, max_progress: int, base: float, group: dict) -> float:
        start = round(max_progress * self.start_percent)
        if progress < start:
            return base
        factor = (progress - start) / (max_progress - start)
        return annealing_cos(base, _target(base, self.min_lr, self.min_lr_ratio), factor)


class LinearAnnealingSchedule(Schedule):
    """A straight line from ``base`` to the target over the run.

    Args:
        min_lr / min_lr_ratio: the final value (exactly one of them).
    """

    def __init__(self, min_lr: float | None = None, min_lr_ratio: float | None = None) -> None:
        _one_of("LinearAnnealing", min_lr, min_lr_ratio)
        self.min_lr, self.min_lr_ratio = min_lr, min_lr_ratio

    def get_value(self, progress: int, max_progress: int, base: float, group: dict) -> float:
        return annealing_linear(base, _target(base, self.min_lr, self.min_lr_ratio), progress / max_progress)
