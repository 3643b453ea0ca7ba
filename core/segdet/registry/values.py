"""Check config values against a constructor's type annotations, before anything is built.

Deliberately lenient where configs and annotations meet loosely: a list fits ``tuple[...]``
(configs write both), an int fits ``float``, a ``dict(type=...)`` fits any class (its parent
builds it), and an annotation that cannot be resolved or checked is not held against the
value. What it catches are the values that would only fail deep inside a build or a training
step: ``num_outs='three'``, ``num_classes='3'``, ``lr='abc'``, ``samples_per_gpu='8'``.
"""
from __future__ import annotations

import collections.abc as cabc
import inspect
import sys
import types
import typing
from collections.abc import Mapping
from typing import Any

__all__ = ["annotation_problems", "fits"]

_SEQUENCES = (list, tuple, cabc.Sequence, cabc.Iterable, cabc.Collection, cabc.MutableSequence)
_MAPPINGS = (dict, cabc.Mapping, cabc.MutableMapping)


def fits(value: Any, ann: Any) -> bool | None:
    """True (fits), False (does not), None (cannot tell)."""
    if ann is Any or ann is inspect.Parameter.empty or ann is object:
        return True
    if ann is None or ann is type(None):
        return value is None
    origin = typing.get_origin(ann)
    args = typing.get_args(ann)
    if origin is typing.Union or origin is types.UnionType:
        verdicts = [fits(value, a) for a in args]
        if any(v is True for v in verdicts):
            return True
        return None if any(v is None for v in verdicts) else False
    if origin is typing.Literal:
        return value in args
    if origin in _SEQUENCES or ann in _SEQUENCES:
        if not isinstance(value, (list, tuple)):
            return False
        return _items_fit(value, args, origin or ann)
    if origin in _MAPPINGS or ann in _MAPPINGS:
        return isinstance(value, Mapping)
    if ann is bool:
        return isinstance(value, bool)
    if ann is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if ann is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if ann is str:
        return isinstance(value, str)
    if isinstance(ann, type):
        if isinstance(value, ann):
            return True
        if ann.__name__ == "Tensor" and isinstance(value, str):
            return False  # torch takes a number or a tensor there (``lr: float | Tensor``)
        return None  # a class built from a config dict, a path-like, a device name...
    return None


def _items_fit(value: Any, args: tuple[Any, ...], container: Any) -> bool | None:
    if not args:
        return True
    if container is tuple and not (len(args) == 2 and args[1] is Ellipsis):
        if len(args) != len(value):
            return False
        verdicts = [fits(v, a) for v, a in zip(value, args)]
    else:
        verdicts = [fits(v, args[0]) for v in value]
    if any(v is False for v in verdicts):
        return False
    return True if all(v is True for v in verdicts) else None


def _resolve(ann: Any, obj: Any) -> Any:
    if not isinstance(ann, str):
        return ann
    # the annotations live in the module of the class that defines the constructor
    owner = next((k for k in obj.__mro__ if "__init__" in vars(k)), obj) if isinstance(obj, type) else obj
    module = sys.modules.get(getattr(owner, "__module__", ""), None)
    namespace = dict(vars(module)) if module else {}
    try:
        return eval(ann, {**vars(typing), **namespace})  # annotations are the component's own code
    except Exception:
        return inspect.Parameter.empty


def _describe(ann: Any) -> str:
    return ann if isinstance(ann, str) else getattr(ann, "__name__", None) or str(ann).replace("typing.", "")


def annotation_problems(obj: Any, args: Mapping[str, Any], display: str, locate: Any) -> list[str]:
    """Messages for every argument whose value does not fit its annotation.

    ``locate(key)`` gives the ``'model.neck.num_outs (set at cfg.py:12)'`` form of a key.
    """
    try:
        params = inspect.signature(obj).parameters
    except (TypeError, ValueError):
        return []
    problems = []
    for key, value in args.items():
        param = params.get(key)
        if param is None or param.annotation is inspect.Parameter.empty:
            continue
        ann = _resolve(param.annotation, obj)
        if isinstance(value, Mapping) and "type" in value:
            continue  # a child component: its own check covers it
        if fits(value, ann) is False:
            problems.append(f"{locate(key)}: {display} expects {key}: {_describe(param.annotation)}, "
                            f"got {value!r} ({type(value).__name__})")
    return problems
