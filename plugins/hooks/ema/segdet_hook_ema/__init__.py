"""Exponential moving average of model weights for segdet."""
from __future__ import annotations

from .ema import EMAHook

__all__ = ["EMAHook"]
