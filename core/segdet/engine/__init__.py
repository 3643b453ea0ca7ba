"""Training engine: runners, hooks called through pluggy, optimizers, schedules, checkpoints.

Public surface for plugins (hook distributions subclass :class:`Hook` or :class:`LoggerHook`)::

    from segdet.engine import Hook, LoggerHook, Priority, hookimpl
"""
from __future__ import annotations

from .hook_manager import HookManager
from .hooks import (
    CheckpointHook,
    DistSamplerSeedHook,
    EvalHook,
    Hook,
    IterTimerHook,
    LoggerHook,
    LrUpdaterHook,
    MomentumUpdaterHook,
    OptimizerHook,
    TextLoggerHook,
)
from .hookspec import STAGES, RunnerHookSpec, hookimpl, hookspec
from .priority import Priority, get_priority
from .runner import BaseRunner, EpochBasedRunner, IterBasedRunner, build_runner

__all__ = [
    "BaseRunner", "CheckpointHook", "DistSamplerSeedHook", "EpochBasedRunner", "EvalHook", "Hook",
    "HookManager", "IterBasedRunner", "IterTimerHook", "LoggerHook", "LrUpdaterHook", "MomentumUpdaterHook",
    "OptimizerHook", "Priority", "RunnerHookSpec", "STAGES", "TextLoggerHook", "build_runner",
    "get_priority", "hookimpl", "hookspec",
]
