"""Make a seeded sampler shuffle differently in each epoch."""
from __future__ import annotations

from typing import Any

from ..runner_state import RunnerState
from .base import Hook

__all__ = ["DistSamplerSeedHook", "set_sampler_epoch"]


def set_sampler_epoch(data_loader: Any, epoch: int) -> bool:
    """Call ``set_epoch`` on the loader's sampler or batch sampler; True when found."""
    for owner in (data_loader, getattr(data_loader, "batch_sampler", None)):
        for attr in ("sampler", "batch_sampler"):
            sampler = getattr(owner, attr, None)
            if sampler is not None and hasattr(sampler, "set_epoch"):
                sampler.set_epoch(epoch)
                return True
    return False


class DistSamplerSeedHook(Hook):
    """Before each epoch, ``sampler.set_epoch(runner.epoch)`` (distributed or seeded samplers)."""

    priority = "NORMAL"

    def before_train_epoch(self, runner: RunnerState) -> None:
        set_sampler_epoch(runner.data_loader, runner.epoch)
