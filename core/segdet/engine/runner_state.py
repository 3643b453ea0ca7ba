"""What a hook may read from (and call on) the runner it is given: the ``RunnerState`` protocol.

Every lifecycle method of a hook (``before_run(runner)``, ``after_train_iter(runner)``, ...)
receives an object with exactly these members; the runners of :mod:`segdet.engine.runner`
provide them. A hook typed against this protocol is checked by mypy without depending on a
runner class::

    from segdet.api import Hook, RunnerState

    class PrintLoss(Hook):
        def after_train_iter(self, runner: RunnerState) -> None:
            runner.logger.info("iter %d: %s", runner.iter + 1, runner.outputs["log_vars"])
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Protocol

import torch
from torch import nn

from .log_buffer import LogBuffer

__all__ = ["RunnerState", "require_optimizer", "run_length"]


class RunnerState(Protocol):
    """The runner as hooks see it.

    Attributes:
        model: the model being trained (unwrapped from DDP).
        optimizer: its optimizer, or None for evaluation-only runs.
        work_dir: absolute folder of checkpoints and logs.
        logger: the run's logger.
        meta: run metadata saved into checkpoints (``meta['hook_msgs']`` is shared by hooks).
        mode: ``'train'`` or ``'val'`` during a workflow phase, else None.
        log_buffer: values logged this interval (``update``, ``average``, ``output``).
        data_loader: the loader of the current phase.
        data_batch: the batch of the current iteration (set before ``before_*_iter``).
        outputs: what ``train_step``/``val_step`` returned (``loss``, ``log_vars``, ``num_samples``).
        rank, world_size: this process's rank and the number of processes.
        timestamp: ``YYYYmmdd_HHMMSS`` of the run start (names the log files).
        device: where the model runs.
        grad_scaler: the ``torch.amp.GradScaler`` under fp16, else None.
        tags: labels of the run (``segdet train --tags``).
        epoch, iter, inner_iter: 0-based counters (epochs done, iterations done, iteration
            within the epoch); max_epochs / max_iters: the run's length (one of them is None).
        hooks: the registered hooks, in call order.
    """

    model: nn.Module
    optimizer: torch.optim.Optimizer | None
    work_dir: str
    logger: logging.Logger
    meta: dict[str, Any]
    mode: str | None
    log_buffer: LogBuffer
    data_loader: Any
    data_batch: Any
    outputs: dict[str, Any]
    rank: int
    world_size: int
    timestamp: str
    device: torch.device
    grad_scaler: Any
    tags: list[str]

    @property
    def epoch(self) -> int: ...

    @property
    def iter(self) -> int: ...

    @property
    def inner_iter(self) -> int: ...

    @property
    def max_epochs(self) -> int | None: ...

    @property
    def max_iters(self) -> int | None: ...

    @property
    def hooks(self) -> list[Any]: ...

    def current_lr(self) -> list[float]:
        """Learning rate of each parameter group."""
        ...

    def current_momentum(self) -> list[float]:
        """Momentum (or Adam's beta1) of each parameter group."""
        ...

    def save_checkpoint(self, out_dir: str, filename_tmpl: str = "epoch_{}.pth", save_optimizer: bool = True,
                        meta: dict | None = None, create_symlink: bool = True) -> str:
        """Write a checkpoint atomically; returns its path."""
        ...

    def resume(self, checkpoint: str, resume_optimizer: bool = True, map_location: Any = "cpu") -> None:
        """Restore model, optimizer, hook states, counters and RNG states from ``checkpoint``."""
        ...


def require_optimizer(runner: RunnerState, user: str) -> torch.optim.Optimizer:
    """``runner.optimizer``, or an error naming ``user`` (a hook) when the run has none."""
    if runner.optimizer is None:
        raise RuntimeError(f"{user} needs an optimizer, and this runner has none "
                           f"(build it with one, or leave {user} out of an evaluation-only run)")
    return runner.optimizer


def run_length(runner: RunnerState, by_epoch: bool) -> int:
    """``max_epochs`` (``by_epoch``) or ``max_iters`` of the run; an error when the runner lacks it."""
    value = runner.max_epochs if by_epoch else runner.max_iters
    if value is None:
        unit = "max_epochs" if by_epoch else "max_iters"
        raise RuntimeError(f"this schedule counts in {'epochs' if by_epoch else 'iterations'}, but the "
                           f"runner has no {unit}; set runner=dict(type=..., {unit}=N) in the config")
    return value


if TYPE_CHECKING:  # mypy checks that the runners provide the protocol
    from .runner import BaseRunner

    def _runners_are_runner_states(runner: BaseRunner) -> RunnerState:
        return runner
