"""TensorBoard logger hook for segdet."""
from __future__ import annotations

from .tensorboard import TensorboardLoggerHook

__all__ = ["TensorboardLoggerHook"]
