"""Pipeline transforms (registered under ``segdet.transforms``); import submodules directly."""
from __future__ import annotations

__all__: list[str] = []
