"""Load components named by configs and construct them with checked arguments."""
from __future__ import annotations

import difflib
import inspect
from collections.abc import Mapping
from importlib import metadata
from typing import Any

from ..errors import (
    ComponentArgumentError,
    ComponentClashError,
    IncompatiblePluginError,
    PluginImportError,
    RegistryError,
    UnknownComponentError,
)
from .catalogue import providers_from_wheels
from .discovery import _normalize, components
from .groups import GROUPS, PLUGIN_API_VERSION, full_group, short_group
from .local import local_lookup
from .records import INCOMPATIBLE, LOCAL, ComponentInfo

__all__ = ["build", "resolve", "find_info", "check_arguments", "describe_location", "signature_text", "takes_argument"]

_LOADED: dict[str, Any] = {}


def describe_location(cfg: Any, key: str = "type") -> str:
    """``'model.neck.type (set at configs/x.py:12)'`` for a ConfigDict; ``''`` for a plain dict."""
    path_fn = getattr(cfg, "key_path", None)
    path = path_fn() if callable(path_fn) else ""
    dotted = f"{path}.{key}" if path else key
    origin_fn = getattr(cfg, "origin_of", None)
    origin = origin_fn(key) if callable(origin_fn) else None
    where = dotted
    if origin:
        where += f" (set at {origin})"
    return where


def _singular(group: str) -> str:
    """``'losses'`` -> ``'loss'``, ``'task_modules'`` -> ``'task module'``, ``'necks'`` -> ``'neck'``."""
    if group.endswith("sses"):
        group = group[:-2]
    elif group.endswith("s"):
        group = group[:-1]
    return group.replace("_", " ")


def _unknown(name: str, group: str, where: str) -> UnknownComponentError:
    g = short_group(group)
    installed = sorted({i.name for i in components(group)})
    lines = [f"unknown {_singular(g)} type {name!r} at {where}; searched group {group!r}."]
    close = difflib.get_close_matches(name, installed, n=5, cutoff=0.5)
    if close:
        lines.append(f"Closest installed names: {', '.join(close)}.")
    elif installed:
        lines.append(f"Installed in this group: {', '.join(installed)}.")
    else:
        lines.append("No component of this group is installed.")
    providers = providers_from_wheels(group, name)
    if providers:
        lines.append(f"{name!r} is provided by {', '.join(providers)}, which is not installed: "
                     f"pip install {providers[0]}")
    for other in GROUPS:
        if other == group:
            continue
        hits = [i for i in components(other) if i.name == name]
        if hits:
            lines.append(
                f"{name!r} exists in group {short_group(other)!r} ({hits[0].display_name}); "
                f"is it under the right key?"
            )
    return UnknownComponentError(" ".join(lines))


def find_info(name: str, group: str, where: str = "type") -> ComponentInfo:
    """The one installed or local component ``name`` of ``group``.

    ``name`` may be qualified as ``'segdet-neck-fpn:FPN'`` (or ``'local:FPN'``)
    to choose among distributions that export the same name.
    """
    group = full_group(group)
    dist_choice = None
    if ":" in name:
        dist_choice, name = name.split(":", 1)
    candidates = [i for i in components(group) if i.name == name]
    if dist_choice is not None:
        want = LOCAL if dist_choice in ("local", LOCAL) else _normalize(dist_choice)
        candidates = [i for i in candidates
                      if (i.distribution == LOCAL and want == LOCAL) or _normalize(i.distribution) == want]
        if not candidates:
            providers = sorted(i.distribution for i in components(group) if i.name == name)
            raise UnknownComponentError(
                f"{where}: no distribution {dist_choice!r} provides {name!r} in group {group!r}"
                + (f"; it is provided by: {', '.join(providers)}" if providers else "")
            )
    if not candidates:
        raise _unknown(name, group, where)
    usable = [i for i in candidates if i.state != INCOMPATIBLE]
    if not usable:
        info = candidates[0]
        raise IncompatiblePluginError(
            f"{where}: {info.display_name} was written for segdet plugin API {info.api}, "
            f"but this segdet offers plugin API {PLUGIN_API_VERSION}; install a release of "
            f"{info.distribution} made for plugin API {PLUGIN_API_VERSION.split('.')[0]}.x"
        )
    if len({i.distribution for i in usable}) > 1:
        names = ", ".join(f"{i.display_name} -> type='{i.qualified_name}'" for i in usable)
        raise ComponentClashError(
            f"{where}: {name!r} in group {group!r} is exported by several distributions: {names}. "
            "Choose one explicitly with a qualified type, or uninstall one of them."
        )
    return usable[0]


def _load(info: ComponentInfo) -> Any:
    if info.distribution == LOCAL:
        return local_lookup(info.group, info.name)
    if info.target not in _LOADED:
        ep = metadata.EntryPoint(name=info.name, value=info.target, group=info.group)
        try:
            obj = ep.load()
        except Exception as err:
            raise PluginImportError(
                f"{info.display_name} in group {info.group!r} failed to import {info.target!r}: "
                f"{type(err).__name__}: {err}. Reinstall {info.distribution} or run `segdet doctor`."
            ) from err
        if not callable(obj):
            raise PluginImportError(f"{info.display_name}: {info.target!r} is not callable")
        _LOADED[info.target] = obj
    return _LOADED[info.target]


def resolve(name: str, group: str, where: str = "type") -> Any:
    """Import and return the class or function registered as ``name`` in ``group``."""
    return _load(find_info(name, group, where))


def signature_text(obj: Any) -> str:
    try:
        return f"{getattr(obj, '__name__', obj)}{inspect.signature(obj)}"
    except (TypeError, ValueError):
        return repr(obj)


def takes_argument(obj: Any, name: str) -> bool:
    """Whether calling ``obj`` accepts keyword ``name`` (named, or through ``**kwargs``)."""
    try:
        params = inspect.signature(obj).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def check_arguments(obj: Any, kwargs: Mapping[str, Any], where: str, display: str = "",
                    cfg: Any = None) -> list[str]:
    """Problems of calling ``obj(**kwargs)``: unknown keys and missing required ones.

    With ``cfg`` (a ConfigDict), an unknown key is reported with its own path and origin.
    """
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return []
    params = sig.parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    named = {n for n, p in params.items()
             if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)}
    problems = []
    who = display or getattr(obj, "__name__", repr(obj))
    if not takes_any:
        for key in kwargs:
            if key not in named:
                close = difflib.get_close_matches(key, sorted(named), n=3, cutoff=0.6)
                hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
                at = describe_location(cfg, key) if cfg is not None else where
                problems.append(f"{at}: {who} got an unexpected argument {key!r}{hint}")
    for n, p in params.items():
        if p.default is inspect.Parameter.empty and p.kind in (
            inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY
        ) and n not in kwargs:
            problems.append(f"{where}: {who} is missing the required argument {n!r}")
    return problems


def build(cfg: Any, group: str, default_args: Mapping[str, Any] | None = None) -> Any:
    """Build ``cfg['type'](**rest)`` from ``group``.

    Args:
        cfg: a mapping with ``type`` (a registered name, a qualified
            ``'dist:Name'``, or a class/function) and the constructor's
            keyword arguments. Nested ``dict(type=...)`` values are passed
            as they are: parents build their own children.
        group: ``'necks'`` or ``'segdet.necks'``.
        default_args: keyword arguments used where ``cfg`` leaves them out.

    Raises:
        UnknownComponentError, ComponentClashError, IncompatiblePluginError,
        PluginImportError, ComponentArgumentError: each naming the config key.
    """
    if not isinstance(cfg, Mapping):
        raise RegistryError(f"expected a dict with a 'type' key for group {group!r}, got {cfg!r}")
    where = describe_location(cfg)
    if "type" not in cfg:
        raise RegistryError(f"{where}: missing 'type' key (group {full_group(group)!r}); got keys {sorted(cfg)}")
    kind = cfg["type"]
    kwargs = {k: v for k, v in cfg.items() if k != "type"}
    for k, v in (default_args or {}).items():
        kwargs.setdefault(k, v)
    if isinstance(kind, str):
        info = find_info(kind, group, where)
        obj = _load(info)
        display = info.display_name
    elif callable(kind):
        obj, display = kind, getattr(kind, "__name__", repr(kind))
    else:
        raise RegistryError(f"{where}: 'type' must be a name or a class, got {kind!r}")
    problems = check_arguments(obj, kwargs, where.split(" (")[0].rsplit(".", 1)[0] or "config", display, cfg)
    if problems:
        raise ComponentArgumentError(
            "\n".join(problems) + f"\nsignature: {signature_text(obj)}"
        )
    return obj(**kwargs)
