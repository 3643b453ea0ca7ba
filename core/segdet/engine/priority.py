"""Hook priorities with MMCV's names and values: lower runs first."""
from __future__ import annotations

import enum
from typing import Union

__all__ = ["Priority", "get_priority"]


class Priority(enum.IntEnum):
    """Hook priority levels (MMCV values)."""

    HIGHEST = 0
    VERY_HIGH = 10
    HIGH = 30
    ABOVE_NORMAL = 40
    NORMAL = 50
    BELOW_NORMAL = 60
    LOW = 70
    VERY_LOW = 90
    LOWEST = 100


def get_priority(priority: Union[int, str, Priority]) -> int:
    """``'NORMAL'``, ``Priority.NORMAL`` or ``50`` -> ``50``; integers must lie in [0, 100]."""
    if isinstance(priority, Priority):
        return int(priority.value)
    if isinstance(priority, bool):
        raise TypeError(f"hook priority must be an int or a name of Priority, got {priority!r}")
    if isinstance(priority, int):
        if not 0 <= priority <= 100:
            raise ValueError(f"hook priority must be between 0 and 100, got {priority}")
        return priority
    if isinstance(priority, str):
        try:
            return int(Priority[priority.upper()].value)
        except KeyError:
            names = ", ".join(p.name for p in Priority)
            raise ValueError(f"unknown hook priority {priority!r}; use one of {names} or 0..100") from None
    raise TypeError(f"hook priority must be an int or a name of Priority, got {priority!r}")
