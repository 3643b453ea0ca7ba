"""Weights & Biases logger hook for segdet."""
from __future__ import annotations

from .wandb_hook import WandbLoggerHook

__all__ = ["WandbLoggerHook"]
