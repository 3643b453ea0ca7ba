"""Shared logic of the LR and momentum updater hooks: schedule by epoch or iteration, plus warmup."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Union

from ...registry import build
from ..runner_state import RunnerState, require_optimizer, run_length
from ..schedules import Schedule
from .base import Hook

__all__ = ["ParamSchedulerHook", "policy_to_type"]

_WARMUPS = ("constant", "linear", "exp")


def policy_to_type(policy: str, suffix: str = "") -> str:
    """MMCV's rule: an all-lowercase policy is title-cased (``'step'`` -> ``'Step'``)."""
    name = policy.title() if policy == policy.lower() else policy
    return name + suffix


class ParamSchedulerHook(Hook):
    """Sets one optimizer hyper-parameter per group from ``schedule`` and warmup.

    Subclasses define ``_get(group)``, ``_set(group, value)``, ``_initial_key`` and ``_warm(value, k)``.
    """

    _initial_key = "initial_lr"

    def __init__(self, schedule: Union[Schedule, Mapping[str, Any]], by_epoch: bool | None = None,
                 warmup: str | None = None, warmup_iters: int = 0, warmup_ratio: float = 0.1,
                 warmup_by_epoch: bool = False) -> None:
        if isinstance(schedule, Mapping):
            schedule = build(schedule, "schedulers")
        if not isinstance(schedule, Schedule):
            raise TypeError(f"schedule must be a Schedule or a dict(type=...), got {type(schedule).__name__}")
        self.schedule = schedule
        self.by_epoch = schedule.by_epoch if by_epoch is None else bool(by_epoch)
        if self.by_epoch and schedule.iter_only:
            raise ValueError(f"{type(schedule).__name__} works by iteration only; remove by_epoch=True")
        if warmup is not None:
            if warmup not in _WARMUPS:
                raise ValueError(f'"{warmup}" is not a supported type for warming up, valid types are {_WARMUPS}')
            if warmup_iters <= 0:
                raise ValueError('"warmup_iters" must be a positive integer')
            if not 0 < warmup_ratio <= 1.0:
                raise ValueError('"warmup_ratio" must be in range (0,1]')
        self.warmup, self.warmup_ratio, self.warmup_by_epoch = warmup, warmup_ratio, warmup_by_epoch
        self.warmup_iters: int | None = warmup_iters
        self.warmup_epochs: int | None = None
        if warmup_by_epoch:
            self.warmup_epochs, self.warmup_iters = warmup_iters, None
        self.base_values: list[float] = []
        self.regular_values: list[float] = []

    # parameter access, defined by subclasses
    def _get(self, group: dict) -> float:
        raise NotImplementedError

    def _set(self, group: dict, value: float) -> None:
        raise NotImplementedError

    def _warm(self, value: float, cur_iter: int) -> float:
        raise NotImplementedError

    def _set_all(self, runner: RunnerState, values: list[float]) -> None:
        for group, value in zip(require_optimizer(runner, type(self).__name__).param_groups, values):
            self._set(group, value)

    def get_regular(self, runner: RunnerState) -> list[float]:
        progress = runner.epoch if self.by_epoch else runner.iter
        max_progress = run_length(runner, self.by_epoch)
        groups = require_optimizer(runner, type(self).__name__).param_groups
        return [self.schedule.get_value(progress, max_progress, base, group)
                for base, group in zip(self.base_values, groups)]

    def get_warmup(self, cur_iter: int) -> list[float]:
        return [self._warm(value, cur_iter) for value in self.regular_values]

    def before_run(self, runner: RunnerState) -> None:
        optimizer = require_optimizer(runner, type(self).__name__)
        self.schedule.before_run(optimizer, runner.max_iters)
        for group in optimizer.param_groups:
            group.setdefault(self._initial_key, self._get(group))
        self.base_values = [group[self._initial_key] for group in optimizer.param_groups]

    def _ensure_warmup_iters(self, runner: RunnerState) -> None:
        if self.warmup_iters is None:
            self.warmup_iters = int(self.warmup_epochs or 0) * len(runner.data_loader)

    def before_train_epoch(self, runner: RunnerState) -> None:
        self._ensure_warmup_iters(runner)
        if not self.by_epoch:
            return
        self.regular_values = self.get_regular(runner)
        self._set_all(runner, self.regular_values)

    def before_train_iter(self, runner: RunnerState) -> None:
        cur_iter = runner.iter
        self._ensure_warmup_iters(runner)
        assert self.warmup_iters is not None
        if not self.by_epoch:
            self.regular_values = self.get_regular(runner)
            if self.warmup is None or cur_iter >= self.warmup_iters:
                self._set_all(runner, self.regular_values)
            else:
                self._set_all(runner, self.get_warmup(cur_iter))
        else:
            if self.warmup is None or cur_iter > self.warmup_iters:
                return
            if cur_iter == self.warmup_iters:
                self._set_all(runner, self.regular_values)
            else:
                self._set_all(runner, self.get_warmup(cur_iter))
