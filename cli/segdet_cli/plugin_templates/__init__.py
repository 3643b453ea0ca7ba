"""Templates of ``segdet new-plugin``: one module per kind of component, plus the shared files.

Each kind module defines ``GROUP`` (entry-point group), ``DEPENDENCIES``, ``SUMMARY``,
``USAGE`` (README snippet), ``COMPONENT`` and ``TEST``: :class:`string.Template` texts with
``${cls}`` (class), ``${pkg}`` (package), ``${module}`` (module of the class), ``${dist}``.
"""
from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["KINDS", "kind_module"]

#: kind as typed on the command line -> template module name
KINDS: tuple[str, ...] = ("backbone", "neck", "head", "loss", "hook", "dataset", "transform", "metric")


def kind_module(kind: str) -> ModuleType:
    """The template module of ``kind`` (one of :data:`KINDS`)."""
    if kind not in KINDS:
        raise KeyError(kind)
    return importlib.import_module(f"{__name__}.{kind}")
