"""Write the logged scalars (losses, lr, momentum, metrics) as TensorBoard event files."""
from __future__ import annotations

import os
from typing import Any

from segdet.api import LoggerHook, RunnerState

__all__ = ["TensorboardLoggerHook"]


class TensorboardLoggerHook(LoggerHook):
    """MMCV's TensorboardLoggerHook: ``log_config=dict(hooks=[dict(type='TensorboardLoggerHook')])``.

    Args:
        log_dir: where event files go; default ``<work_dir>/tf_logs``.
        interval: logging interval in iterations (usually set by ``log_config.interval``).
        ignore_last: skip the last iterations of an epoch when fewer than ``interval``.
        reset_flag: clear the log buffer output after logging.
        by_epoch: count iterations within the epoch or across the run.

    Scalars are tagged ``train/loss``, ``val/bbox_mAP``, ``learning_rate``, ``momentum``;
    the global step is the run's iteration. Run tags (``segdet train --tags``) are written as text.
    Only rank 0 writes.
    """

    def __init__(self, log_dir: str | None = None, interval: int = 10, ignore_last: bool = True,
                 reset_flag: bool = False, by_epoch: bool = True) -> None:
        super().__init__(interval, ignore_last, reset_flag, by_epoch)
        self.log_dir = log_dir
        self.writer: Any = None

    def before_run(self, runner: RunnerState) -> None:
        super().before_run(runner)
        if runner.rank != 0:
            return
        from torch.utils.tensorboard import SummaryWriter

        if self.log_dir is None:
            self.log_dir = os.path.join(runner.work_dir, "tf_logs")
        self.writer = SummaryWriter(self.log_dir)
        tags = getattr(runner, "tags", None)
        if tags:
            self.writer.add_text("tags", ", ".join(tags), runner.iter)

    def log(self, runner: RunnerState) -> None:
        if self.writer is None:
            return
        step = self.get_iter(runner)
        for tag, val in self.get_loggable_tags(runner, allow_text=True).items():
            if isinstance(val, str):
                self.writer.add_text(tag, val, step)
            else:
                self.writer.add_scalar(tag, float(val), step)

    def after_run(self, runner: RunnerState) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
