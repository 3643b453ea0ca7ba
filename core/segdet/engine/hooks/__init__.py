"""Built-in runner hooks; each is also registered in group ``segdet.hooks``."""
from __future__ import annotations

from .base import Hook
from .checkpoint import CheckpointHook
from .evaluation import EvalHook
from .iter_timer import IterTimerHook
from .logger_base import LoggerHook
from .lr_updater import LrUpdaterHook, build_lr_hook
from .momentum_updater import MomentumUpdaterHook, build_momentum_hook
from .optimizer import OptimizerHook, check_finite_loss
from .param_scheduler import ParamSchedulerHook
from .sampler_seed import DistSamplerSeedHook, set_sampler_epoch
from .text_logger import TextLoggerHook, max_memory_mb

__all__ = [
    "Hook", "LoggerHook", "CheckpointHook", "EvalHook", "IterTimerHook", "LrUpdaterHook", "MomentumUpdaterHook",
    "OptimizerHook", "ParamSchedulerHook", "DistSamplerSeedHook", "TextLoggerHook",
    "build_lr_hook", "build_momentum_hook", "check_finite_loss", "set_sampler_epoch", "max_memory_mb",
]
