"""In-process registration for quick experiments: ``@register('necks')`` and ``custom_imports``."""
from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from ..errors import ConfigError, PluginImportError
from .groups import full_group
from .records import LOCAL, ComponentInfo

__all__ = ["register", "unregister", "local_components", "local_lookup", "import_custom_modules"]

T = TypeVar("T")
_LOCAL: dict[tuple[str, str], Any] = {}


def register(group: str, name: str | None = None, *, force: bool = False) -> Callable[[T], T]:
    """Register a class or function under ``group`` in this process only.

    Example::

        @register("necks")
        class MyNeck(nn.Module): ...

    A second registration of the same name is an error unless ``force=True``.
    """
    g = full_group(group)

    def decorator(obj: T) -> T:
        key: tuple[str, str] = (g, name or str(getattr(obj, "__name__", "")))
        if not key[1]:
            raise ValueError(f"cannot register {obj!r} without a name")
        if key in _LOCAL and _LOCAL[key] is not obj and not force:
            raise ValueError(
                f"{key[1]!r} is already registered locally in group {g!r} "
                f"(by {_LOCAL[key]!r}); pass force=True to replace it"
            )
        _LOCAL[key] = obj
        return obj

    return decorator


def unregister(group: str, name: str) -> None:
    """Remove a local registration (used by tests)."""
    _LOCAL.pop((full_group(group), name), None)


def local_lookup(group: str, name: str) -> Any | None:
    return _LOCAL.get((full_group(group), name))


def local_components() -> list[ComponentInfo]:
    out = []
    for (group, name), obj in _LOCAL.items():
        target = f"{getattr(obj, '__module__', '?')}:{getattr(obj, '__qualname__', name)}"
        out.append(ComponentInfo(group, name, LOCAL, "", target))
    return out


def import_custom_modules(custom_imports: Mapping[str, Any] | None, source: str = "config") -> None:
    """Import ``custom_imports=dict(imports=[...], allow_failed_imports=False)`` modules,
    whose ``@register`` decorators then add components for this process."""
    if not custom_imports:
        return
    imports = custom_imports.get("imports", [])
    if isinstance(imports, str):
        imports = [imports]
    if not isinstance(imports, (list, tuple)):
        raise ConfigError(f"{source}: custom_imports.imports must be a list of module names, got {imports!r}")
    allow_failed = bool(custom_imports.get("allow_failed_imports", False))
    for module in imports:
        try:
            importlib.import_module(module)
        except Exception as err:
            if allow_failed:
                continue
            raise PluginImportError(
                f"{source}: custom_imports could not import {module!r}: {type(err).__name__}: {err}. "
                "Check that the module is on PYTHONPATH, or set allow_failed_imports=True"
            ) from err
