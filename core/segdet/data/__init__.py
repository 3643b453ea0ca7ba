"""Data sets, transforms, collate and data loaders.

Kept import-light: import the submodules you need, e.g.
``from segdet.data.builder import build_dataset, build_dataloader``.
"""
from __future__ import annotations

__all__: list[str] = []
