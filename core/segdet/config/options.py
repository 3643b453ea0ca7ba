"""``--cfg-options`` items: parsing ``key=value`` text and applying it to a config.

Values follow MMCV's ``DictAction``: ``1`` and ``1.5`` are numbers,
``True``/``False`` (any case) are bools, ``None`` is None, ``[..]`` a list,
``(..)`` a tuple, ``a,b`` a list, and anything else a string. Unlike MMCV,
quotes mean a string (``x='1'`` is ``'1'``) and spaces inside strings are kept.
Keys are dotted paths and may index lists: ``data.test.pipeline.1.img_scale``.
"""
from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Union

from ..errors import CfgOptionsError
from .configdict import ConfigDict, _convert, copy_tree, format_path
from .merge import DELETE_KEY, merge_into, set_origin_all, strip_delete

__all__ = ["CfgOptions", "parse_cfg_options", "parse_value", "apply_options"]

_OPEN = {"[": "]", "(": ")", "{": "}"}


class CfgOptions(dict):  # type: ignore[type-arg]
    """Parsed options, ``{dotted key: value}``, remembering each item's text."""

    def __init__(self) -> None:
        super().__init__()
        self.sources: dict[str, str] = {}


def parse_cfg_options(items: Union[Iterable[str], str, None]) -> CfgOptions:
    """Parse ``['a.b=1', 'x=[1,2]', 'y=a,b']`` into ``{'a.b': 1, 'x': [1, 2], 'y': ['a', 'b']}``.

    Raises:
        CfgOptionsError: an item without ``=``, with an empty key, or with
            unbalanced brackets or quotes; the message quotes the item.
    """
    result = CfgOptions()
    if items is None:
        return result
    if isinstance(items, str):
        items = [items]
    for item in items:
        if "=" not in item:
            raise CfgOptionsError(
                f"--cfg-options item {item!r} is not of the form KEY=VALUE (e.g. model.neck.num_outs=4)"
            )
        key, text = item.split("=", 1)
        key = key.strip()
        if not key or any(not part for part in key.split(".")):
            raise CfgOptionsError(f"--cfg-options item {item!r} has an invalid key {key!r}")
        try:
            value = parse_value(text)
        except ValueError as err:
            raise CfgOptionsError(f"--cfg-options item {item!r}: {err}") from None
        result[key] = value
        result.sources[key] = item
    return result


def _outside_quotes(text: str) -> Iterator[tuple[int, str, int]]:
    """Index, character and bracket depth after it, of every character outside quotes.

    Raises ``ValueError`` on a closing bracket that does not match, and, once the
    whole text is read, on an unclosed quote or bracket.
    """
    stack: list[str] = []
    quote = ""
    i = 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        else:
            if ch in _OPEN:
                stack.append(_OPEN[ch])
            elif ch in ")]}" and (not stack or stack.pop() != ch):
                raise ValueError(f"unbalanced {ch!r} in {text!r}")
            yield i, ch, len(stack)
        i += 1
    if quote:
        raise ValueError(f"unclosed quote {quote} in {text!r}")
    if stack:
        raise ValueError(f"missing {stack[-1]!r} in {text!r}")


def _split_top(text: str) -> list[str]:
    """Split at commas outside brackets and quotes."""
    parts: list[str] = []
    start = 0
    for i, ch, depth in _outside_quotes(text):
        if ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def parse_value(text: str) -> Any:
    """One option value: ``'1,2'`` -> ``[1, 2]``, ``'[(1,2),(3,4)]'`` -> ``[(1, 2), (3, 4)]``."""
    stripped = text.strip()
    # A quoted bracket expression is a structure whose shell quotes survived.
    if (len(stripped) >= 2 and stripped[0] == stripped[-1] and stripped[0] in "'\""
            and stripped[1:2] in _OPEN and _closing_at_end(stripped[1:-1])):
        stripped = stripped[1:-1].strip()
    parts = _split_top(stripped)
    if len(parts) > 1:
        if parts[-1].strip() == "":
            parts = parts[:-1]
        return [_parse_item(p) for p in parts]
    return _parse_item(stripped)


def _closing_at_end(text: str) -> bool:
    text = text.strip()
    return bool(text) and text[0] in _OPEN and text[-1] == _OPEN[text[0]]


def _parse_item(text: str) -> Any:
    text = text.strip()
    if not text:
        return ""
    first = text[0]
    if first in _OPEN and text[-1] == _OPEN[first] and _matching_close(text) == len(text) - 1:
        inner = text[1:-1].strip()
        if first == "{":
            return _parse_mapping(inner)
        items = [] if not inner else _split_top(inner)
        trailing = bool(items) and items[-1].strip() == ""
        if trailing:
            items = items[:-1]
        values = [_parse_item(i) for i in items]
        if first == "[":
            return values
        return tuple(values)
    if first in "'\"" and len(text) >= 2 and text[-1] == first:
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return text[1:-1]
        return value if isinstance(value, str) else text[1:-1]
    if first in _OPEN or text[-1] in ")]}":
        _split_top(text)  # raises on unbalanced brackets
    return _scalar(text)


def _matching_close(text: str) -> int:
    """Index of the bracket closing ``text[0]``."""
    for i, ch, depth in _outside_quotes(text):
        if depth == 0 and ch in ")]}":
            return i
    raise ValueError(f"missing closing bracket in {text!r}")


def _parse_mapping(inner: str) -> dict[Any, Any]:
    result: dict[Any, Any] = {}
    for part in _split_top(inner) if inner else []:
        if not part.strip():
            continue
        colon = _top_colon(part)
        if colon < 0:
            raise ValueError(f"expected KEY: VALUE in {part.strip()!r}")
        result[_parse_item(part[:colon])] = _parse_item(part[colon + 1:])
    return result


def _top_colon(text: str) -> int:
    quote = ""
    depth = 0
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in _OPEN:
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == ":" and depth == 0:
            return i
    return -1


def _scalar(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        pass
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if text == "None":
        return None
    return text


# --------------------------------------------------------------------- applying
def _describe(value: Any) -> str:
    shown = repr(value)
    if len(shown) > 40:
        shown = shown[:37] + "..."
    name = type(value).__name__
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name} ({shown})"


def _index(container: Any, part: str, path: list[Any], full: str) -> int:
    try:
        index = int(part)
    except ValueError:
        raise CfgOptionsError(
            f"{full}: {format_path(path) or 'the config'} is a list; "
            f"use an index (0..{len(container) - 1}) instead of {part!r}"
        ) from None
    if not -len(container) <= index < len(container):
        raise CfgOptionsError(
            f"{full}: index {index} is out of range for "
            f"{format_path(path)!r}, a {type(container).__name__} of {len(container)} items"
        )
    return index


def apply_options(root: ConfigDict, options: Mapping[str, Any], sources: Mapping[str, str] | None = None) -> None:
    """Set each dotted key of ``options`` in ``root``, recording the option as origin.

    A dict value merges into an existing dict (``_delete_`` works as in
    files); any other value replaces. Missing dict keys are created; a list
    index out of range, or a path through a value that is neither dict nor
    list, is a :class:`CfgOptionsError` naming the path.
    """
    if sources is None:
        sources = getattr(options, "sources", None) or {}
    for key, value in options.items():
        item = sources.get(key) or f"{key}={value!r}"
        _apply_one(root, str(key), value, f"--cfg-options {item}")


def _apply_one(root: ConfigDict, key: str, value: Any, origin: str) -> None:
    parts = key.split(".")
    node, trail, path = _walk_to_parent(root, parts[:-1], origin)
    new_value = _prepare(value, origin)
    if isinstance(node, ConfigDict):
        _set_in_dict(node, _dict_key(node, parts[-1]), new_value, origin)
    else:
        _set_in_sequence(node, parts[-1], new_value, origin, trail, path)


def _walk_to_parent(root: ConfigDict, parts: list[str], origin: str) -> tuple[Any, list[tuple[Any, Any]], list[Any]]:
    """The container that will hold the last key, creating missing dicts on the way.

    Returns the container, the ``(container, key)`` trail from the root down
    (tuples on it get rebuilt when one of their items changes) and the path.
    """
    trail: list[tuple[Any, Any]] = []
    node: Any = root
    path: list[Any] = []
    for part in parts:
        if isinstance(node, ConfigDict):
            step: Any = _dict_key(node, part)
            if step not in node:
                dict.__setitem__(node, step, ConfigDict())
                node._set_chain(step, (origin,))
        else:
            step = _index(node, part, path, origin)
        trail.append((node, step))
        node = node[step]
        path.append(part)
        if not isinstance(node, (ConfigDict, list, tuple)):
            raise CfgOptionsError(
                f"{origin}: cannot set a key under {format_path(path)!r}, "
                f"which is {_describe(node)}, not a dict or list"
            )
    return node, trail, path


def _set_in_dict(node: ConfigDict, key: Any, new_value: Any, origin: str) -> None:
    current = node.get(key) if key in node else None
    chain = (*node._chain(key), origin)
    if (isinstance(new_value, ConfigDict) and isinstance(current, ConfigDict)
            and not new_value.get(DELETE_KEY)):
        new_value = merge_into(current, new_value)
    dict.__setitem__(node, key, new_value)
    strip_delete(node[key])
    node._set_chain(key, chain)


def _set_in_sequence(node: list[Any] | tuple[Any, ...], part: str, new_value: Any, origin: str,
                     trail: list[tuple[Any, Any]], path: list[Any]) -> None:
    idx = _index(node, part, path, origin)
    current = node[idx]
    if (isinstance(new_value, ConfigDict) and isinstance(current, ConfigDict)
            and not new_value.get(DELETE_KEY)):
        new_value = merge_into(current, new_value)
    strip_delete(new_value)
    if isinstance(node, list):
        node[idx] = new_value
    else:
        rebuilt = list(node)
        rebuilt[idx] = new_value
        _replace_tuple(trail, type(node)(*rebuilt) if hasattr(node, "_fields") else tuple(rebuilt))
    # The list itself is a value of its nearest dict: extend that chain.
    for container, k in reversed(trail):
        if isinstance(container, ConfigDict):
            container._set_chain(k, (*container._chain(k), origin))
            break


def _dict_key(node: ConfigDict, part: str) -> Any:
    """``'0'`` addresses the key ``0`` of a dict with int keys (e.g. a palette)."""
    if part not in node and part.lstrip("-").isdigit() and int(part) in node:
        return int(part)
    return part


def _replace_tuple(trail: list[tuple[Any, Any]], value: Any) -> None:
    """Put a rebuilt tuple back where the old one was, rebuilding enclosing tuples."""
    for container, k in reversed(trail):
        if isinstance(container, ConfigDict):
            dict.__setitem__(container, k, value)
            return
        if isinstance(container, list):
            container[k] = value
            return
        rebuilt = list(container)
        rebuilt[k] = value
        value = type(container)(*rebuilt) if hasattr(container, "_fields") else tuple(rebuilt)


def _prepare(value: Any, origin: str) -> Any:
    """Turn dicts of an option value into ConfigDicts carrying the option's origin."""
    if isinstance(value, (dict, list, tuple)):
        value = _convert(copy_tree(value), ())
        set_origin_all(value, origin)
    return value
