"""The lifecycle points of a run, as a pluggy hook specification.

A hook is any object whose methods are named after these points (for instance
:class:`segdet.engine.hooks.Hook` subclasses); the runner registers it with a
:class:`pluggy.PluginManager` under project name ``"segdet"``. An implementation
may accept only a subset of the arguments (usually just ``runner``, whose members are
those of :class:`segdet.engine.runner_state.RunnerState`).
"""
from __future__ import annotations

import pluggy

from .runner_state import RunnerState

__all__ = ["PROJECT", "STAGES", "hookspec", "hookimpl", "RunnerHookSpec"]

PROJECT = "segdet"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class RunnerHookSpec:
    """Every point at which the runner calls its hooks, in the order of a run."""

    @hookspec
    def before_run(self, runner: RunnerState) -> None:
        """Once, before the first epoch or iteration (after a resume)."""

    @hookspec
    def before_train_epoch(self, runner: RunnerState) -> None:
        """Before each training epoch (epoch-based runners)."""

    @hookspec
    def before_train_iter(self, runner: RunnerState) -> None:
        """Before each training iteration; ``runner.data_batch`` is set."""

    @hookspec
    def after_train_iter(self, runner: RunnerState) -> None:
        """After the forward pass of a training iteration; ``runner.outputs`` holds the loss."""

    @hookspec
    def after_train_epoch(self, runner: RunnerState) -> None:
        """After each training epoch; ``runner.epoch`` is still the 0-based epoch just finished."""

    @hookspec
    def before_val_epoch(self, runner: RunnerState) -> None:
        """Before a ``('val', n)`` workflow epoch."""

    @hookspec
    def before_val_iter(self, runner: RunnerState) -> None:
        """Before each iteration of a ``val`` workflow."""

    @hookspec
    def after_val_iter(self, runner: RunnerState) -> None:
        """After each iteration of a ``val`` workflow."""

    @hookspec
    def after_val_epoch(self, runner: RunnerState) -> None:
        """After a ``val`` workflow epoch."""

    @hookspec
    def before_save_checkpoint(self, runner: RunnerState, checkpoint: dict) -> None:
        """May add entries to ``checkpoint`` (a dict with ``meta``, ``state_dict``, ...) before it is written."""

    @hookspec
    def after_save_checkpoint(self, runner: RunnerState, filepath: str) -> None:
        """After a checkpoint was written atomically to ``filepath``."""

    @hookspec
    def after_load_checkpoint(self, runner: RunnerState, checkpoint: dict) -> None:
        """After ``load_from`` / ``resume_from`` loaded ``checkpoint`` into the model."""

    @hookspec
    def after_run(self, runner: RunnerState) -> None:
        """Once, when the run ends normally."""


#: hook names in the order of a run (used for the hook table printed at start)
STAGES: tuple[str, ...] = (
    "before_run",
    "before_train_epoch",
    "before_train_iter",
    "after_train_iter",
    "after_train_epoch",
    "before_val_epoch",
    "before_val_iter",
    "after_val_iter",
    "after_val_epoch",
    "before_save_checkpoint",
    "after_save_checkpoint",
    "after_load_checkpoint",
    "after_run",
)
