"""Running history of logged values, averaged over a logging interval (MMCV's LogBuffer)."""
from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np

__all__ = ["LogBuffer"]


class LogBuffer:
    """``update`` appends values with their sample counts; ``average(n)`` puts the
    sample-weighted mean of the last ``n`` entries into ``output`` and sets ``ready``."""

    def __init__(self) -> None:
        self.val_history: OrderedDict[str, list[float]] = OrderedDict()
        self.n_history: OrderedDict[str, list[int]] = OrderedDict()
        self.output: OrderedDict[str, Any] = OrderedDict()
        self.ready = False

    def clear(self) -> None:
        self.val_history.clear()
        self.n_history.clear()
        self.clear_output()

    def clear_output(self) -> None:
        self.output.clear()
        self.ready = False

    def update(self, vars: dict[str, Any], count: int = 1) -> None:
        if not isinstance(vars, dict):
            raise TypeError(f"log_vars must be a dict, got {type(vars).__name__}")
        for key, var in vars.items():
            self.val_history.setdefault(key, []).append(var)
            self.n_history.setdefault(key, []).append(count)

    def average(self, n: int = 0) -> None:
        """Average the latest ``n`` values of every key (all values when ``n == 0``)."""
        if n < 0:
            raise ValueError("n must be >= 0")
        for key in self.val_history:
            values = np.array(self.val_history[key][-n:], dtype=np.float64)
            nums = np.array(self.n_history[key][-n:], dtype=np.float64)
            self.output[key] = float(np.sum(values * nums) / np.sum(nums))
        self.ready = True
