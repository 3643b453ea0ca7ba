"""Base class of runner hooks, with MMCV's helpers for intervals."""
from __future__ import annotations

from typing import Union

from ..runner_state import RunnerState

__all__ = ["Hook"]


class Hook:
    """A runner hook. Subclasses define only the lifecycle methods they need.

    The method names are those of :class:`segdet.engine.hookspec.RunnerHookSpec`
    (``before_run``, ``after_train_iter``, ...), each taking ``runner`` (and
    ``checkpoint`` / ``filepath`` for the checkpoint points). ``priority``
    (name or 0..100, lower runs first) may be given in ``custom_hooks``.
    """

    priority: Union[int, str] = "NORMAL"

    @staticmethod
    def every_n_epochs(runner: RunnerState, n: int) -> bool:
        return (runner.epoch + 1) % n == 0 if n > 0 else False

    @staticmethod
    def every_n_inner_iters(runner: RunnerState, n: int) -> bool:
        return (runner.inner_iter + 1) % n == 0 if n > 0 else False

    @staticmethod
    def every_n_iters(runner: RunnerState, n: int) -> bool:
        return (runner.iter + 1) % n == 0 if n > 0 else False

    @staticmethod
    def end_of_epoch(runner: RunnerState) -> bool:
        return runner.inner_iter + 1 == len(runner.data_loader)

    @staticmethod
    def is_last_epoch(runner: RunnerState) -> bool:
        return runner.epoch + 1 == runner.max_epochs

    @staticmethod
    def is_last_iter(runner: RunnerState) -> bool:
        return runner.iter + 1 == runner.max_iters

    def __repr__(self) -> str:
        return f"{type(self).__name__}(priority={self.priority})"
