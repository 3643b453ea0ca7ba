"""Learning-rate and momentum schedules (MMCV's LrUpdaterHook / MomentumUpdaterHook formulas).

A schedule maps progress to a value: ``get_value(progress, max_progress, base, group)``
where progress counts epochs or iterations (0-based), ``base`` is the group's initial
value and ``group`` the optimizer's param group. :class:`~segdet.engine.hooks.LrUpdaterHook`
and :class:`~segdet.engine.hooks.MomentumUpdaterHook` call it and add warmup.
Schedules are registered in group ``segdet.schedulers``; ``lr_config=dict(policy='step')``
names ``Step``, ``momentum_config=dict(policy='CosineAnnealing')`` names ``CosineAnnealingMomentum``.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Callable, Union

__all__ = [
    "annealing_cos", "annealing_linear", "format_param",
    "Schedule", "StepSchedule", "ExpSchedule", "PolySchedule", "InvSchedule", "CosineAnnealingSchedule",
    "FixedSchedule", "OneCycleSchedule", "CyclicSchedule", "StepMomentumSchedule",
    "CosineAnnealingMomentumSchedule", "CyclicMomentumSchedule", "OneCycleMomentumSchedule",
]


def annealing_cos(start: float, end: float, factor: float, weight: float = 1.0) -> float:
    """Cosine from ``start`` (factor 0) to ``end`` (factor 1)."""
    cos_out = math.cos(math.pi * factor) + 1
    return end + 0.5 * weight * (start - end) * cos_out


def annealing_linear(start: float, end: float, factor: float) -> float:
    """Straight line from ``start`` (factor 0) to ``end`` (factor 1)."""
    return start + (end - start) * factor


def _anneal_func(strategy: str) -> Callable[[float, float, float], float]:
    if strategy not in ("cos", "linear"):
        raise ValueError(f"anneal_strategy must be 'cos' or 'linear', got {strategy!r}")
    return annealing_cos if strategy == "cos" else annealing_linear


def format_param(name: str, optim: Any, param: Union[float, Sequence[float], dict]) -> list[float]:
    """A per-group list from a number, a list (one per group) or a dict keyed by optimizer name."""
    if isinstance(param, (int, float)):
        return [float(param)] * len(optim.param_groups)
    if isinstance(param, (list, tuple)):
        if len(param) != len(optim.param_groups):
            raise ValueError(f"expected {len(optim.param_groups)} values for {name}, got {len(param)}")
        return [float(p) for p in param]
    if not isinstance(param, dict) or name not in param:
        raise KeyError(f"{name} is not found in {param!r}")
    return format_param(name, optim, param[name])


class Schedule:
    """Base class. ``by_epoch`` is the default unit; ``iter_only`` schedules refuse epochs."""

    by_epoch: bool = True
    iter_only: bool = False

    def before_run(self, optimizer: Any, max_iters: int | None) -> None:
        """Set up what depends on the run (total steps, per-group initial values)."""

    def get_value(self, progress: int, max_progress: int, base: float, group: dict) -> float:
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        return {}


class StepSchedule(Schedule):
    """``base * gamma ** k``, k = steps passed; ``step`` an int (every ``step``) or a list of milestones."""

    def __init__(self, step: Union[int, Sequence[int]], gamma: float = 0.1,
                 min_lr: float | None = None) -> None:
        if isinstance(step, (list, tuple)):
            if not all(isinstance(s, int) and s > 0 for s in step):
                raise ValueError(f"step must be positive ints, got {step!r}")
        elif not (isinstance(step, int) and step > 0):
            raise TypeError(f"step must be a list of ints or a positive int, got {step!r}")
        self.step, self.gamma, self.min_value = step, gamma, min_lr

    def get_value(self, progress: int, max_progress: int, base: float, group: dict) -> float:
        if isinstance(self.step, int):
            exp = progress // self.step
        else:
            exp = len(self.step)
            for i, s in enumerate(self.step):
                if progress < s:
                    exp = i
                    break
        value = base * self.gamma**exp
        if self.min_value is not None:
            value = max(value, self.min_value)
        return value


class ExpSchedule(Schedule):
    """``base * gamma ** progress``."""

    def __init__(self, gamma: float) -> None:
        self.gamma = gamma

    def get_value(self, progress: int, max_progress: int, base: float, group: dict) -> float:
        return base * self.gamma**progress


class PolySchedule(Schedule):
    """``(base - min_lr) * (1 - progress / max_progress) ** power + min_lr``."""

    def __init__(self, power: float = 1.0, min_lr: float = 0.0) -> None:
        self.power, self.min_lr = power, min_lr

    def get_value(self, progress: int, max_progress: int, base: float, group: dict) -> float:
        coeff = (1 - progress / max_progress) ** self.power
        return (base - self.min_lr) * coeff + self.min_lr


class InvSchedule(Schedule):
    """``base * (1 + gamma * progress) ** (-power)``."""

    def __init__(self, gamma: float, power: float = 1.0) -> None:
        self.gamma, self.power = gamma, power

    def get_value(self, progress: int, max_progress: int, base: float, group: dict) -> float:
        return base * (1 + self.gamma * progress) ** (-self.power)


class CosineAnnealingSchedule(Schedule):
    """Cosine from ``base`` to ``min_lr`` (or ``base * min_lr_ratio``) over the run."""

    def __init__(self, min_lr: float | None = None, min_lr_ratio: float | None = None) -> None:
        if (min_lr is None) == (min_lr_ratio is None):
            raise ValueError("give exactly one of min_lr and min_lr_ratio")
        self.min_lr, self.min_lr_ratio = min_lr, min_lr_ratio

    def get_value(self, progress: int, max_progress: int, base: float, group: dict) -> float:
        if self.min_lr_ratio is not None:
            target = base * self.min_lr_ratio
        else:
            assert self.min_lr is not None
            target = self.min_lr
        return annealing_cos(base, target, progress / max_progress)


class FixedSchedule(Schedule):
    """The initial value, unchanged (warmup still applies)."""

    def get_value(self, progress: int, max_progress: int, base: float, group: dict) -> float:
        return base


class OneCycleSchedule(Schedule):
    """1cycle policy (iterations only): from ``max_lr/div_factor`` up to ``max_lr`` during
    ``pct_start`` of the run, then down to ``initial/final_div_factor`` (optionally three phases)."""

    by_epoch = False
    iter_only = True

    def __init__(self, max_lr: Union[float, Sequence[float], dict], total_steps: int | None = None,
                 pct_start: float = 0.3, anneal_strategy: str = "cos", div_factor: float = 25.0,
                 final_div_factor: float = 1e4, three_phase: bool = False) -> None:
        if total_steps is not None and (not isinstance(total_steps, int) or total_steps <= 0):
            raise ValueError(f"total_steps must be a positive int, got {total_steps!r}")
        if not 0 <= pct_start <= 1:
            raise ValueError(f"pct_start must be in [0, 1], got {pct_start}")
        self.max_lr, self.total_steps, self.pct_start = max_lr, total_steps, pct_start
        self.anneal_func = _anneal_func(anneal_strategy)
        self.div_factor, self.final_div_factor, self.three_phase = div_factor, final_div_factor, three_phase
        self.phases: list[tuple[float, float, float]] = []

    def before_run(self, optimizer: Any, max_iters: int | None) -> None:
        total = self.total_steps or max_iters
        if total is None:
            raise ValueError("OneCycle needs total_steps or a runner with max_iters")
        if max_iters is not None and total < max_iters:
            raise ValueError(f"OneCycle total_steps ({total}) is smaller than the run's iterations ({max_iters})")
        for group, max_lr in zip(optimizer.param_groups, format_param("optimizer", optimizer, self.max_lr)):
            group["initial_lr"] = max_lr / self.div_factor
        p, d = self.pct_start, self.div_factor
        if self.three_phase:
            self.phases = [(p * total - 1, 1, d), (2 * p * total - 2, d, 1), (total - 1, 1, 1 / self.final_div_factor)]
        else:
            self.phases = [(p * total - 1, 1, d), (total - 1, d, 1 / self.final_div_factor)]

    def get_value(self, progress: int, max_progress: int, base: float, group: dict) -> float:
        start_iter = 0.0
        value = base
        for i, (end_iter, start_ratio, end_ratio) in enumerate(self.phases):
            if progress <= end_iter or i == len(self.phases) - 1:
                pct = (progress - start_iter) / (end_iter - start_iter)
                value = self.anneal_func(base * start_ratio, base * end_ratio, pct)
                break
            start_iter = end_iter
        return value


class CyclicSchedule(Schedule):
    """Cyclic policy (iterations only): up to ``base * target_ratio[0]`` during ``step_ratio_up``
    of each cycle, then down to ``base * target_ratio[1]``; amplitude scaled by ``gamma`` per cycle."""

    by_epoch = False
    iter_only = True

    def __init__(self, target_ratio: Union[float, Sequence[float]] = (10, 1e-4), cyclic_times: int = 1,
                 step_ratio_up: float = 0.4, anneal_strategy: str = "cos", gamma: float = 1.0) -> None:
        if isinstance(target_ratio, (int, float)):
            target_ratio = (float(target_ratio), float(target_ratio) / 1e5)
        if len(target_ratio) != 2:
            raise ValueError(f"target_ratio must be a number or a pair, got {target_ratio!r}")
        if not 0 <= step_ratio_up < 1:
            raise ValueError(f"step_ratio_up must be in [0, 1), got {step_ratio_up}")
        if not 0 < gamma <= 1:
            raise ValueError(f"gamma must be in (0, 1], got {gamma}")
        self.target_ratio = tuple(float(r) for r in target_ratio)
        self.cyclic_times, self.step_ratio_up, self.gamma = cyclic_times, step_ratio_up, gamma
        self.anneal_func = _anneal_func(anneal_strategy)
        self.max_iter_per_phase = 1
        self.phases: list[tuple[int, int, float, float]] = []

    def before_run(self, optimizer: Any, max_iters: int | None) -> None:
        if max_iters is None:
            raise ValueError("the cyclic schedule needs a runner with max_iters")
        self.max_iter_per_phase = max_iters // self.cyclic_times
        up = int(self.step_ratio_up * self.max_iter_per_phase)
        self.phases = [(0, up, 1.0, self.target_ratio[0]),
                       (up, self.max_iter_per_phase, self.target_ratio[0], self.target_ratio[1])]

    def get_value(self, progress: int, max_progress: int, base: float, group: dict) -> float:
        curr_iter = progress % self.max_iter_per_phase
        scale = self.gamma ** (progress // self.max_iter_per_phase)
        for start_iter, end_iter, start_ratio, end_ratio in self.phases:
            if start_iter <= curr_iter < end_iter:
                if start_iter == 0:
                    end_ratio = 1 - scale + end_ratio * scale
                else:
                    start_ratio = 1 - scale + start_ratio * scale
                factor = (curr_iter - start_iter) / (end_iter - start_iter)
                return self.anneal_func(base * start_ratio, base * end_ratio, factor)
        return base


class StepMomentumSchedule(StepSchedule):
    """Momentum ``base * gamma ** k`` (default gamma 0.5), floored at ``min_momentum``."""

    def __init__(self, step: Union[int, Sequence[int]], gamma: float = 0.5,
                 min_momentum: float | None = None) -> None:
        super().__init__(step, gamma, min_momentum)


class CosineAnnealingMomentumSchedule(Schedule):
    """Cosine from the base momentum to ``min_momentum`` (or ``base * min_momentum_ratio``)."""

    def __init__(self, min_momentum: float | None = None, min_momentum_ratio: float | None = None) -> None:
        if (min_momentum is None) == (min_momentum_ratio is None):
            raise ValueError("give exactly one of min_momentum and min_momentum_ratio")
        self.min_momentum, self.min_momentum_ratio = min_momentum, min_momentum_ratio

    def get_value(self, progress: int, max_progress: int, base: float, group: dict) -> float:
        if self.min_momentum_ratio is not None:
            target = base * self.min_momentum_ratio
        else:
            assert self.min_momentum is not None
            target = self.min_momentum
        return annealing_cos(base, target, progress / max_progress)


class CyclicMomentumSchedule(CyclicSchedule):
    """Momentum moving opposite to a cyclic LR: down to ``base * target_ratio[0]``, back to ``target_ratio[1]``."""

    def __init__(self, target_ratio: Union[float, Sequence[float]] = (0.85 / 0.95, 1.0), cyclic_times: int = 1,
                 step_ratio_up: float = 0.4, anneal_strategy: str = "cos", gamma: float = 1.0) -> None:
        super().__init__(target_ratio, cyclic_times, step_ratio_up, anneal_strategy, gamma)


class OneCycleMomentumSchedule(Schedule):
    """Momentum of the 1cycle policy: ``max_momentum`` -> ``base_momentum`` -> ``max_momentum``."""

    by_epoch = False
    iter_only = True

    def __init__(self, base_momentum: Union[float, Sequence[float], dict] = 0.85,
                 max_momentum: Union[float, Sequence[float], dict] = 0.95, pct_start: float = 0.3,
                 anneal_strategy: str = "cos", three_phase: bool = False, total_steps: int | None = None) -> None:
        self.base_momentum, self.max_momentum, self.pct_start = base_momentum, max_momentum, pct_start
        self.anneal_func = _anneal_func(anneal_strategy)
        self.three_phase, self.total_steps = three_phase, total_steps
        self.phases: list[tuple[float, str, str]] = []

    def before_run(self, optimizer: Any, max_iters: int | None) -> None:
        total = self.total_steps or max_iters
        if total is None:
            raise ValueError("OneCycle momentum needs total_steps or a runner with max_iters")
        bases = format_param("base_momentum", optimizer, self.base_momentum)
        maxes = format_param("max_momentum", optimizer, self.max_momentum)
        for group, b, m in zip(optimizer.param_groups, bases, maxes):
            group["initial_momentum"], group["base_momentum"], group["max_momentum"] = m, b, m
        p = self.pct_start
        if self.three_phase:
            self.phases = [(p * total - 1, "max_momentum", "base_momentum"),
                           (2 * p * total - 2, "base_momentum", "max_momentum"),
                           (total - 1, "max_momentum", "max_momentum")]
        else:
            self.phases = [(p * total - 1, "max_momentum", "base_momentum"),
                           (total - 1, "base_momentum", "max_momentum")]

    def get_value(self, progress: int, max_progress: int, base: float, group: dict) -> float:
        start_iter = 0.0
        value = base
        for i, (end_iter, start_name, end_name) in enumerate(self.phases):
            if progress <= end_iter or i == len(self.phases) - 1:
                pct = (progress - start_iter) / (end_iter - start_iter)
                value = self.anneal_func(group[start_name], group[end_name], pct)
                break
            start_iter = end_iter
        return value
