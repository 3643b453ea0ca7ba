"""Epoch-based runner: ``workflow=[('train', n), ('val', 1)]`` repeated until ``max_epochs``."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from ..progress import Progress
from .base import BaseRunner

__all__ = ["EpochBasedRunner"]


class EpochBasedRunner(BaseRunner):
    """Trains epoch by epoch (MMCV semantics: ``after_train_epoch`` sees the 0-based epoch
    just finished; the counter is incremented after it)."""

    def train(self, data_loader: Any) -> None:
        self.model.train()
        if self.step_module is not None:
            self.step_module.train()
        self.mode = "train"
        self.data_loader = data_loader
        assert self._max_epochs is not None
        self._max_iters = self._max_epochs * len(data_loader)
        self.call_hook("before_train_epoch")
        self._restore_loader_rng(data_loader)
        desc = f"train epoch {self.epoch + 1}/{self._max_epochs}"
        with Progress(len(data_loader), desc, enabled=self.rank == 0 and self.show_progress) as bar:
            for i, data_batch in enumerate(data_loader):
                self.data_batch = data_batch
                self._inner_iter = i
                self.call_hook("before_train_iter")
                self.run_iter(data_batch, train_mode=True)
                self.call_hook("after_train_iter")
                self.data_batch = None
                self._iter += 1
                bar.update()
        self.call_hook("after_train_epoch")
        self._epoch += 1

    @torch.no_grad()
    def val(self, data_loader: Any) -> None:
        self.model.eval()
        if self.step_module is not None:
            self.step_module.eval()
        self.mode = "val"
        self.data_loader = data_loader
        self.call_hook("before_val_epoch")
        for i, data_batch in enumerate(data_loader):
            self.data_batch = data_batch
            self._inner_iter = i
            self.call_hook("before_val_iter")
            self.run_iter(data_batch, train_mode=False)
            self.call_hook("after_val_iter")
            self.data_batch = None
        self.call_hook("after_val_epoch")

    def run(self, data_loaders: Sequence[Any], workflow: Sequence[tuple[str, int]],
            max_epochs: int | None = None) -> None:
        """Run ``workflow`` over ``data_loaders`` (one loader per workflow entry)."""
        if len(data_loaders) != len(workflow):
            raise ValueError(f"{len(data_loaders)} data loaders for a workflow of {len(workflow)} entries")
        if max_epochs is not None:
            self._max_epochs = max_epochs
        if self._max_epochs is None:
            raise ValueError("max_epochs must be given to the runner (runner=dict(max_epochs=N))")
        for i, (mode, _) in enumerate(workflow):
            if mode == "train":
                self._max_iters = self._max_epochs * len(data_loaders[i])
                break
        self._start_message(workflow)
        self.call_hook("before_run")
        while self.epoch < self._max_epochs:
            for i, (mode, epochs) in enumerate(workflow):
                if mode not in ("train", "val"):
                    raise ValueError(f"workflow mode must be 'train' or 'val', got {mode!r}")
                for _ in range(epochs):
                    if mode == "train" and self.epoch >= self._max_epochs:
                        break
                    getattr(self, mode)(data_loaders[i])
        self.call_hook("after_run")

    def save_checkpoint(self, out_dir: str, filename_tmpl: str = "epoch_{}.pth", save_optimizer: bool = True,
                        meta: dict | None = None, create_symlink: bool = True) -> str:
        meta = {**(meta or {}), "epoch": self.epoch + 1, "iter": self.iter}
        filename = filename_tmpl.format(self.epoch + 1)
        return self._write(out_dir, filename, meta, save_optimizer, create_symlink)

