"""Base class of logger hooks (text, JSON, TensorBoard...), MMCV's LoggerHook semantics."""
from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import torch

from ..runner_state import RunnerState
from .base import Hook

__all__ = ["LoggerHook"]


class LoggerHook(Hook):
    """Averages the log buffer every ``interval`` iterations and calls :meth:`log`.

    Args:
        interval: logging interval in iterations.
        ignore_last: skip the last iterations of an epoch when fewer than ``interval``.
        reset_flag: clear the buffer output after logging (the last logger hook always does).
        by_epoch: count iterations within an epoch (True) or across the run.
    """

    priority = "VERY_LOW"

    def __init__(self, interval: int = 10, ignore_last: bool = True, reset_flag: bool = False,
                 by_epoch: bool = True) -> None:
        self.interval, self.ignore_last, self.reset_flag, self.by_epoch = interval, ignore_last, reset_flag, by_epoch

    def log(self, runner: RunnerState) -> Any:
        """Write the averaged values of ``runner.log_buffer.output``."""
        raise NotImplementedError

    @staticmethod
    def is_scalar(val: Any, include_np: bool = True, include_torch: bool = True) -> bool:
        if isinstance(val, numbers.Number):
            return True
        if include_np and isinstance(val, np.ndarray) and val.ndim == 0:
            return True
        return bool(include_torch and isinstance(val, torch.Tensor) and val.numel() == 1)

    @staticmethod
    def get_mode(runner: RunnerState) -> str:
        if runner.mode == "train":
            return "train" if "time" in runner.log_buffer.output else "val"
        if runner.mode == "val":
            return "val"
        raise ValueError(f"runner mode should be 'train' or 'val', got {runner.mode!r}")

    @staticmethod
    def get_epoch(runner: RunnerState) -> int:
        if runner.mode == "train":
            return runner.epoch + 1
        if runner.mode == "val":
            return runner.epoch  # the runner's epoch was incremented after training
        raise ValueError(f"runner mode should be 'train' or 'val', got {runner.mode!r}")

    def get_iter(self, runner: RunnerState, inner_iter: bool = False) -> int:
        return runner.inner_iter + 1 if self.by_epoch and inner_iter else runner.iter + 1

    def get_lr_tags(self, runner: RunnerState) -> dict[str, float]:
        lrs = runner.current_lr()
        return {"learning_rate": lrs[0]} if lrs else {}

    def get_momentum_tags(self, runner: RunnerState) -> dict[str, float]:
        moms = runner.current_momentum()
        return {"momentum": moms[0]} if moms else {}

    def get_loggable_tags(self, runner: RunnerState, allow_scalar: bool = True, allow_text: bool = False,
                          add_mode: bool = True, tags_to_skip: tuple[str, ...] = ("time", "data_time")
                          ) -> dict[str, Any]:
        tags: dict[str, Any] = {}
        for var, val in runner.log_buffer.output.items():
            if var in tags_to_skip:
                continue
            if self.is_scalar(val) and not allow_scalar:
                continue
            if isinstance(val, str) and not allow_text:
                continue
            if add_mode:
                var = f"{self.get_mode(runner)}/{var}"
            tags[var] = val
        if runner.optimizer is not None:
            tags.update(self.get_lr_tags(runner))
            tags.update(self.get_momentum_tags(runner))
        return tags

    def before_run(self, runner: RunnerState) -> None:
        for hook in reversed(runner.hooks):
            if isinstance(hook, LoggerHook):
                hook.reset_flag = True
                break

    def before_train_epoch(self, runner: RunnerState) -> None:
        runner.log_buffer.clear()

    def before_val_epoch(self, runner: RunnerState) -> None:
        runner.log_buffer.clear()  # a ``('val', 1)`` workflow logs only its own averages

    def after_train_iter(self, runner: RunnerState) -> None:
        if self.by_epoch and self.every_n_inner_iters(runner, self.interval):
            runner.log_buffer.average(self.interval)
        elif not self.by_epoch and self.every_n_iters(runner, self.interval):
            runner.log_buffer.average(self.interval)
        elif self.end_of_epoch(runner) and not self.ignore_last:
            runner.log_buffer.average(self.interval)
        if runner.log_buffer.ready:
            self.log(runner)
            if self.reset_flag:
                runner.log_buffer.clear_output()

    def after_train_epoch(self, runner: RunnerState) -> None:
        if runner.log_buffer.ready:
            self.log(runner)
            if self.reset_flag:
                runner.log_buffer.clear_output()

    def after_val_epoch(self, runner: RunnerState) -> None:
        runner.log_buffer.average()
        self.log(runner)
        if self.reset_flag:
            runner.log_buffer.clear_output()
