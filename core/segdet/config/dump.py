"""Writing configs back out: readable Python (``dict(...)`` style), JSON or YAML.

The Python text is what ``Config.pretty_text`` shows: one top-level
assignment per key, in insertion order, each value on one line when it fits
in :data:`WIDTH` columns and otherwise one item per line. Loading it again
gives an equal config (tuples stay tuples).
"""
from __future__ import annotations

import json
import keyword
import math
import os
import unicodedata
from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError
from .configdict import format_path, has_container, to_plain

__all__ = ["WIDTH", "format_python", "format_value", "dump_text", "dump_file", "SUFFIXES"]

WIDTH = 79
INDENT = "    "
SUFFIXES = (".py", ".json", ".yaml", ".yml")


def _is_name(key: Any) -> bool:
    """``key`` can be written as ``key=`` / ``key = ``: an identifier that is no keyword and that
    Python's parser keeps as it is (it NFKC-normalises identifiers, so ``'\uf900'`` would come back
    as ``'\u8c48'``; such keys are written in ``{'key': value}`` form instead)."""
    return (isinstance(key, str) and key.isidentifier() and not keyword.iskeyword(key)
            and unicodedata.normalize("NFKC", key) == key)


def _atom(value: Any, path: tuple[Any, ...]) -> str:
    if value is None or isinstance(value, (bool, int, str, bytes)):
        return repr(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "float('nan')"
        if math.isinf(value):
            return "float('inf')" if value > 0 else "float('-inf')"
        return repr(value)
    if isinstance(value, type):
        # A class given as ``type=``: written as an import expression that loads back.
        return f"__import__({value.__module__!r}, fromlist=['_']).{value.__qualname__}"
    raise ConfigError(
        f"cannot write {format_path(path) or 'value'} = {value!r} as Python: "
        f"{type(value).__name__} is not a plain config value"
    )


def _flat(value: Any, path: tuple[Any, ...]) -> str:
    if isinstance(value, Mapping):
        if all(_is_name(k) for k in value):
            return "dict(" + ", ".join(f"{k}={_flat(v, (*path, k))}" for k, v in value.items()) + ")"
        return "{" + ", ".join(f"{_atom(k, path)}: {_flat(v, (*path, k))}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flat(v, (*path, i)) for i, v in enumerate(value)) + "]"
    if isinstance(value, tuple):
        inner = ", ".join(_flat(v, (*path, i)) for i, v in enumerate(value))
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    return _atom(value, path)


def format_value(value: Any, indent: int = 0, prefix_len: int = 0, path: tuple[Any, ...] = ()) -> str:
    """``value`` as Python source, starting ``prefix_len`` columns after ``indent`` levels."""
    flat = _flat(value, path)
    if len(flat) + prefix_len + len(INDENT) * indent <= WIDTH or not isinstance(
        value, (Mapping, list, tuple)
    ) or not value:
        return flat
    pad = INDENT * (indent + 1)
    lines = []
    if isinstance(value, Mapping):
        named = all(_is_name(k) for k in value)
        opener, closer = ("dict(", ")") if named else ("{", "}")
        for k, v in value.items():
            head = f"{k}=" if named else f"{_atom(k, path)}: "
            lines.append(pad + head + format_value(v, indent + 1, len(head), (*path, k)) + ",")
    else:
        opener, closer = ("[", "]") if isinstance(value, list) else ("(", ")")
        if not has_container(value):
            lines = _fill_lines([_atom(v, (*path, i)) for i, v in enumerate(value)], pad)
        else:
            for i, v in enumerate(value):
                lines.append(pad + format_value(v, indent + 1, 0, (*path, i)) + ",")
    return opener + "\n" + "\n".join(lines) + "\n" + INDENT * indent + closer


def _fill_lines(atoms: list[str], pad: str) -> list[str]:
    """Scalars packed into as few lines as fit the width, each followed by a comma."""
    lines: list[str] = []
    current = ""
    for atom in atoms:
        piece = atom + ","
        if current and len(pad) + len(current) + 1 + len(piece) > WIDTH:
            lines.append(pad + current)
            current = piece
        else:
            current = f"{current} {piece}" if current else piece
    if current:
        lines.append(pad + current)
    return lines


def format_python(cfg: Mapping[str, Any]) -> str:
    """A whole config as Python assignments, readable and loadable again."""
    out = []
    for key, value in cfg.items():
        if _is_name(key):
            head = f"{key} = "
            out.append(head + format_value(value, 0, len(head), (key,)))
        else:
            out.append(f"globals()[{key!r}] = " + format_value(value, 0, 14, (key,)))
    return "\n".join(out) + "\n"


def _jsonable(value: Any, path: tuple[Any, ...]) -> Any:
    if isinstance(value, Mapping):
        return {k: _jsonable(v, (*path, k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, (*path, i)) for i, v in enumerate(value)]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ConfigError(
        f"cannot write {format_path(path)} = {value!r} as JSON/YAML: "
        f"{type(value).__name__} is not a plain config value"
    )


def dump_text(cfg: Mapping[str, Any], suffix: str) -> str:
    """The text of ``cfg`` in the format of ``suffix`` (``'.py'``, ``'.json'``, ``'.yaml'``)."""
    suffix = suffix.lower()
    if suffix == ".py":
        return format_python(cfg)
    if suffix == ".json":
        return json.dumps(_jsonable(to_plain(cfg), ()), indent=4) + "\n"
    if suffix in (".yaml", ".yml"):
        import yaml

        result: str = yaml.safe_dump(_jsonable(to_plain(cfg), ()), sort_keys=False, default_flow_style=None)
        return result
    raise ConfigError(f"cannot dump a config as {suffix!r}; use one of {', '.join(SUFFIXES)}")


def dump_file(cfg: Mapping[str, Any], path: str | os.PathLike[str]) -> None:
    """Write ``cfg`` to ``path`` in the format its suffix names."""
    suffix = os.path.splitext(os.fspath(path))[1]
    text = dump_text(cfg, suffix)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
