"""Merging a child config onto its bases, keeping the origin chain of every value.

Rules (MMCV's): keys of the child override the bases; a dict merges into a
dict recursively; everything else replaces; ``_delete_=True`` in a child dict
replaces the base dict instead of merging. When a key is set again, its
origin chain grows (base first), so ``explain`` can show every step.
"""
from __future__ import annotations

from typing import Any

from ..errors import ConfigError, DuplicateBaseKeyError
from .configdict import ConfigDict, _convert, _copy_origins, has_container

__all__ = ["DELETE_KEY", "finalize", "merge_into", "merge_bases", "strip_delete", "set_origin_all"]

DELETE_KEY = "_delete_"


def merge_into(base: ConfigDict, child: ConfigDict, path: tuple[Any, ...] = ()) -> ConfigDict:
    """``base`` with ``child`` merged onto it, as a new dict; ``base`` is left as it was.

    Only the dicts on the way to a changed key are copied, so cached base
    trees can be shared by every config that includes them. ``child`` must
    be private to the caller: its dicts move into the result and its
    ``_delete_`` markers are consumed.

    Raises:
        ConfigError: a child dict lands on a base value that is not a dict (a list, a number,
            a string, None) without ``_delete_=True``: MMCV refuses this instead of guessing.
    """
    result = base.copy()
    for key, value in child.items():
        present = key in result
        chain = result._chain(key) + child._chain(key) if present else child._chain(key)
        current = dict.__getitem__(result, key) if present else None
        if isinstance(value, ConfigDict):
            replace = bool(dict.pop(value, DELETE_KEY, False))
            if value._cd_origins:
                value._cd_origins.pop(DELETE_KEY, None)
            if present and not replace and not isinstance(current, ConfigDict):
                raise _dict_over_non_dict((*path, key), current, result._chain(key), child._chain(key))
            if not replace and isinstance(current, ConfigDict):
                value = merge_into(current, value, (*path, key))
        dict.__setitem__(result, key, value)
        result._set_chain(key, chain)
    return result


def _dict_over_non_dict(path: tuple[Any, ...], current: Any, base_chain: Any, child_chain: Any) -> ConfigError:
    dotted = ".".join(str(p) for p in path)
    base_at = str(base_chain[-1]) if base_chain else "a base file"
    child_at = str(child_chain[-1]) if child_chain else "the child config"
    kind = "None" if current is None else type(current).__name__
    return ConfigError(
        f"{dotted}: the config at {child_at} gives a dict, but the base value set at {base_at} is "
        f"{kind} {current!r}; a dict merges only into a dict. To replace the base value, write "
        f"{path[-1]}=dict(_delete_=True, ...) in the child."
    )


def merge_bases(bases: list[tuple[str, ConfigDict]], including: str) -> ConfigDict:
    """Union of sibling base configs; a key in two of them is an error.

    Args:
        bases: ``(label of the base file, its resolved config)`` in order.
        including: label of the file whose ``_base_`` lists them.
    """
    if len(bases) == 1:
        return bases[0][1]
    merged = ConfigDict()
    owner: dict[Any, str] = {}
    for label, cfg in bases:
        for key, value in cfg.items():
            if key in owner:
                first = owner[key]
                first_cfg = next(c for lbl, c in bases if lbl == first)
                where_a = first_cfg.origin_of(key)
                where_b = cfg.origin_of(key)  # resolving lines only now, for the message
                raise DuplicateBaseKeyError(
                    f"key {key!r} is defined by two sibling base files of {including}: "
                    f"{first}{f' (set at {where_a})' if where_a else ''} and "
                    f"{label}{f' (set at {where_b})' if where_b else ''}. "
                    f"A key may come from only one file of a _base_ list; remove it from one "
                    f"of them, or set it in {including} instead."
                )
            owner[key] = label
            dict.__setitem__(merged, key, value)
            merged._set_chain(key, cfg._chain(key))
    return merged


def finalize(value: Any, path: tuple[Any, ...] = (), root: str | None = None) -> Any:
    """A private copy of a loaded tree for one Config, in a single walk.

    Containers are new (leaves shared), ``_delete_`` markers left where
    nothing was there to replace are dropped, and every ConfigDict is
    stamped with its key path and the root file.
    """
    if isinstance(value, ConfigDict):
        new = ConfigDict.__new__(ConfigDict)
        dict.update(new, value)
        _copy_origins(value, new)
        if DELETE_KEY in new:
            dict.pop(new, DELETE_KEY)
            if new._cd_origins:
                new._cd_origins.pop(DELETE_KEY, None)
        if path:
            object.__setattr__(new, "_cd_path", path)
        if root is not None:
            object.__setattr__(new, "_cd_root", root)
        for key, item in new.items():
            if isinstance(item, (dict, list, tuple)):
                dict.__setitem__(new, key, finalize(item, (*path, key), root))
        return new
    if isinstance(value, dict):
        return finalize(_convert(value, path), path, root)
    if isinstance(value, list):
        if not has_container(value):
            return list(value)
        return [finalize(v, (*path, i), root) if isinstance(v, (dict, list, tuple)) else v
                for i, v in enumerate(value)]
    if isinstance(value, tuple) and has_container(value):
        items = [finalize(v, (*path, i), root) for i, v in enumerate(value)]
        return type(value)(*items) if hasattr(value, "_fields") else type(value)(items)
    return value


def strip_delete(value: Any) -> None:
    """Drop ``_delete_`` markers left where nothing was there to replace."""
    if isinstance(value, dict):
        if DELETE_KEY in value:
            dict.pop(value, DELETE_KEY)
            if isinstance(value, ConfigDict) and value._cd_origins:
                value._cd_origins.pop(DELETE_KEY, None)
        for item in value.values():
            if isinstance(item, (dict, list, tuple)):
                strip_delete(item)
    elif isinstance(value, (list, tuple)) and has_container(value):
        for item in value:
            if isinstance(item, (dict, list, tuple)):
                strip_delete(item)


def set_origin_all(value: Any, origin: str) -> None:
    """Give every key under ``value`` the single origin ``origin``."""
    if isinstance(value, ConfigDict):
        object.__setattr__(value, "_cd_origins", None)
        object.__setattr__(value, "_cd_src", origin)
        for item in value.values():
            if isinstance(item, (dict, list, tuple)):
                set_origin_all(item, origin)
    elif isinstance(value, (list, tuple)) and has_container(value):
        for item in value:
            if isinstance(item, (dict, list, tuple)):
                set_origin_all(item, origin)
