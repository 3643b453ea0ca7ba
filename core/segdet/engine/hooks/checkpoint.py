"""Save checkpoints every ``interval`` epochs or iterations, keeping at most ``max_keep_ckpts``."""
from __future__ import annotations

import os
import re

from ..runner_state import RunnerState
from .base import Hook

__all__ = ["CheckpointHook"]


class CheckpointHook(Hook):
    """``checkpoint_config=dict(interval=1, by_epoch=True, max_keep_ckpts=-1, save_optimizer=True,
    out_dir=None, save_last=True)``.

    Writes ``epoch_N.pth`` / ``iter_N.pth`` (atomically) and copies it to ``latest.pth``.
    With ``out_dir``, files go to ``out_dir/<basename of work_dir>`` (MMCV).
    """

    priority = "NORMAL"

    def __init__(self, interval: int = -1, by_epoch: bool = True, save_optimizer: bool = True,
                 out_dir: str | None = None, max_keep_ckpts: int = -1, save_last: bool = True,
                 create_symlink: bool = True) -> None:
        self.interval, self.by_epoch, self.save_optimizer = interval, by_epoch, save_optimizer
        self.out_dir, self.max_keep_ckpts, self.save_last = out_dir, max_keep_ckpts, save_last
        self.create_symlink = create_symlink

    def before_run(self, runner: RunnerState) -> None:
        if not self.out_dir:
            self.out_dir = runner.work_dir
        elif os.path.abspath(self.out_dir) != runner.work_dir:
            self.out_dir = os.path.join(self.out_dir, os.path.basename(runner.work_dir.rstrip(os.sep)))
        runner.logger.info(f"Checkpoints will be saved to {self.out_dir} by {'epoch' if self.by_epoch else 'iter'}")

    def after_train_epoch(self, runner: RunnerState) -> None:
        if not self.by_epoch:
            return
        if self.every_n_epochs(runner, self.interval) or (self.save_last and self.is_last_epoch(runner)):
            runner.logger.info(f"Saving checkpoint at {runner.epoch + 1} epochs")
            self._save(runner)

    def after_train_iter(self, runner: RunnerState) -> None:
        if self.by_epoch:
            return
        if self.every_n_iters(runner, self.interval) or (self.save_last and self.is_last_iter(runner)):
            runner.logger.info(f"Saving checkpoint at {runner.iter + 1} iterations")
            self._save(runner)

    def _save(self, runner: RunnerState) -> None:
        assert self.out_dir is not None
        tmpl = "epoch_{}.pth" if self.by_epoch else "iter_{}.pth"
        path = runner.save_checkpoint(self.out_dir, filename_tmpl=tmpl, save_optimizer=self.save_optimizer,
                                      create_symlink=self.create_symlink)
        runner.meta["hook_msgs"]["last_ckpt"] = path
        if self.max_keep_ckpts > 0 and runner.rank == 0:
            self._remove_old(tmpl)

    def _remove_old(self, tmpl: str) -> None:
        """Keep the newest ``max_keep_ckpts`` files of this run's pattern (also when the last
        save fell outside the interval)."""
        assert self.out_dir is not None
        pattern = re.compile(re.escape(tmpl).replace(r"\{\}", r"(\d+)") + "$")
        found = sorted((int(m.group(1)), name) for name in os.listdir(self.out_dir)
                       if (m := pattern.match(name)))
        for _, name in found[: -self.max_keep_ckpts]:
            os.remove(os.path.join(self.out_dir, name))
