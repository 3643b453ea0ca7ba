"""Names a package exports but imports only on first use (keeps ``import segdet`` free of torch)."""
from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping
from typing import Any

__all__ = ["lazy_attribute"]


def lazy_attribute(package: str, table: Mapping[str, str], name: str) -> Any:
    """Import ``table[name]`` (``'module:attr'``), cache it on ``package`` and return it.

    Raises:
        AttributeError: ``name`` is not in ``table`` (as for any missing module attribute).
    """
    target = table.get(name)
    if target is None:
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    module, attr = target.split(":")
    value = getattr(importlib.import_module(module), attr)
    setattr(sys.modules[package], name, value)
    return value
