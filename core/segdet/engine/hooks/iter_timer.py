"""Record data loading time and iteration time into the log buffer."""
from __future__ import annotations

import time

from ..runner_state import RunnerState
from .base import Hook

__all__ = ["IterTimerHook"]


class IterTimerHook(Hook):
    """``data_time``: time waiting for the batch; ``time``: the whole iteration (MMCV)."""

    priority = "LOW"

    def before_train_epoch(self, runner: RunnerState) -> None:
        self.t = time.perf_counter()

    def before_val_epoch(self, runner: RunnerState) -> None:
        self.t = time.perf_counter()

    def before_run(self, runner: RunnerState) -> None:
        self.t = time.perf_counter()

    def before_train_iter(self, runner: RunnerState) -> None:
        runner.log_buffer.update({"data_time": time.perf_counter() - self.t})

    def after_train_iter(self, runner: RunnerState) -> None:
        runner.log_buffer.update({"time": time.perf_counter() - self.t})
        self.t = time.perf_counter()

    def before_val_iter(self, runner: RunnerState) -> None:
        runner.log_buffer.update({"data_time": time.perf_counter() - self.t})

    def after_val_iter(self, runner: RunnerState) -> None:
        runner.log_buffer.update({"time": time.perf_counter() - self.t})
        self.t = time.perf_counter()
