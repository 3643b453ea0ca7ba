"""Data sets (registered in ``pyproject.toml`` under ``segdet.datasets``); import submodules directly."""
from __future__ import annotations

__all__: list[str] = []
