"""Iteration-based runner: ``workflow=[('train', n), ('val', m)]`` counted in iterations."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from ..progress import Progress
from .base import BaseRunner

__all__ = ["IterBasedRunner", "IterLoader"]


class IterLoader:
    """Endless iterator over a data loader; each pass is an epoch (the sampler's
    ``set_epoch`` is called so a seeded shuffle changes from pass to pass)."""

    def __init__(self, dataloader: Any, epoch: int = 0) -> None:
        self._dataloader = dataloader
        self._epoch = epoch
        self._set_epoch()
        self.iter_loader = iter(dataloader)

    @property
    def epoch(self) -> int:
        return self._epoch

    def _set_epoch(self) -> None:
        for owner in (self._dataloader, getattr(self._dataloader, "batch_sampler", None)):
            sampler: Any = getattr(owner, "sampler", None)
            if sampler is not None and hasattr(sampler, "set_epoch"):
                sampler.set_epoch(self._epoch)
                return

    def __next__(self) -> Any:
        try:
            return next(self.iter_loader)
        except StopIteration:
            self._epoch += 1
            self._set_epoch()
            self.iter_loader = iter(self._dataloader)
            return next(self.iter_loader)

    def __len__(self) -> int:
        return len(self._dataloader)


class IterBasedRunner(BaseRunner):
    """Trains for ``max_iters`` iterations. Epoch hooks are not called (as in MMCV)."""

    def train(self, data_loader: IterLoader) -> None:
        self.model.train()
        if self.step_module is not None:
            self.step_module.train()
        self.mode = "train"
        self.data_loader = data_loader._dataloader
        self._epoch = data_loader.epoch
        data_batch = next(data_loader)
        self.data_batch = data_batch
        self.call_hook("before_train_iter")
        self.run_iter(data_batch, train_mode=True)
        self.call_hook("after_train_iter")
        self.data_batch = None
        self._inner_iter += 1
        self._iter += 1

    @torch.no_grad()
    def val(self, data_loader: IterLoader) -> None:
        self.model.eval()
        if self.step_module is not None:
            self.step_module.eval()
        self.mode = "val"
        self.data_loader = data_loader._dataloader
        data_batch = next(data_loader)
        self.data_batch = data_batch
        self.call_hook("before_val_iter")
        self.run_iter(data_batch, train_mode=False)
        self.call_hook("after_val_iter")
        self.data_batch = None
        self._inner_iter += 1

    def run(self, data_loaders: Sequence[Any], workflow: Sequence[tuple[str, int]],
            max_iters: int | None = None) -> None:
        if len(data_loaders) != len(workflow):
            raise ValueError(f"{len(data_loaders)} data loaders for a workflow of {len(workflow)} entries")
        if max_iters is not None:
            self._max_iters = max_iters
        if self._max_iters is None:
            raise ValueError("max_iters must be given to the runner (runner=dict(max_iters=N))")
        self._start_message(workflow)
        self.call_hook("before_run")
        for (mode, _), loader in zip(workflow, data_loaders):
            if mode == "train":
                self._restore_loader_rng(loader)
        iter_loaders = [IterLoader(x, self._epoch) for x in data_loaders]
        with Progress(self._max_iters - self.iter, "train iters",
                      enabled=self.rank == 0 and self.show_progress) as bar:
            while self.iter < self._max_iters:
                for i, (mode, iters) in enumerate(workflow):
                    if mode not in ("train", "val"):
                        raise ValueError(f"workflow mode must be 'train' or 'val', got {mode!r}")
                    self._inner_iter = 0
                    for _ in range(iters):
                        if mode == "train" and self.iter >= self._max_iters:
                            break
                        getattr(self, mode)(iter_loaders[i])
                        if mode == "train":
                            bar.update()
        self.call_hook("after_run")

    def save_checkpoint(self, out_dir: str, filename_tmpl: str = "iter_{}.pth", save_optimizer: bool = True,
                        meta: dict | None = None, create_symlink: bool = True) -> str:
        # ``epoch`` is the data loader's current pass, so a resumed run reshuffles as the original
        meta = {**(meta or {}), "iter": self.iter + 1, "epoch": self.epoch}
        filename = filename_tmpl.format(self.iter + 1)
        return self._write(out_dir, filename, meta, save_optimizer, create_symlink)

    def _restore_inner_iter(self) -> None:
        self._inner_iter = self._iter
