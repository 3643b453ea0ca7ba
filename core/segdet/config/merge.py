"""Merging a child config onto its bases, keeping the origin chain of every value.

Rules (MMCV's): keys of the child override the bases; a dict merges into a
dict recursively; everything else replaces; ``_delete_=True`` in a child dict
replaces the base dict instead of merging. When a key is set again, its
origin chain grows (base first), so ``explain`` can show every step.
"""
from __future__ import annotations

from typing import Any

from ..errors import DuplicateBaseKeyError
from .configdict import ConfigDict, has_container

__all__ = ["DELETE_KEY", "merge_into", "merge_bases", "strip_delete", "set_origin_all"]

DELETE_KEY = "_delete_"


def _join(first: tuple[str, ...], second: tuple[str, ...]) -> tuple[str, ...]:
    if first and second and first[-1] == second[0]:
        return first + second[1:]
    return first + second


def merge_into(base: ConfigDict, child: ConfigDict) -> ConfigDict:
    """Merge ``child`` into ``base`` in place and return ``base``.

    Both trees must be private to the caller: ``child``'s dicts are moved
    into ``base`` and ``_delete_`` markers are consumed.
    """
    base_origins = base._cd_origins or {}
    child_origins = child._cd_origins or {}
    for key, value in child.items():
        chain = _join(base_origins.get(key, ()), child_origins.get(key, ()))
        current = base.get(key) if key in base else None
        if isinstance(value, ConfigDict):
            replace = bool(dict.pop(value, DELETE_KEY, False))
            if value._cd_origins:
                value._cd_origins.pop(DELETE_KEY, None)
            if not replace and isinstance(current, ConfigDict):
                merge_into(current, value)
                base._set_chain(key, chain)
                continue
        dict.__setitem__(base, key, value)
        base._set_chain(key, chain)
    return base


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
                where_b = cfg.origin_of(key)
                raise DuplicateBaseKeyError(
                    f"key {key!r} is defined by two sibling base files of {including}: "
                    f"{first}{f' (set at {where_a})' if where_a else ''} and "
                    f"{label}{f' (set at {where_b})' if where_b else ''}. "
                    f"A key may come from only one file of a _base_ list; remove it from one "
                    f"of them, or set it in {including} instead."
                )
            owner[key] = label
            dict.__setitem__(merged, key, value)
            chain = tuple(cfg.origins_of(key))
            if chain:
                merged._set_chain(key, chain)
    return merged


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
        object.__setattr__(value, "_cd_origins", {k: (origin,) for k in value})
        for item in value.values():
            if isinstance(item, (dict, list, tuple)):
                set_origin_all(item, origin)
    elif isinstance(value, (list, tuple)) and has_container(value):
        for item in value:
            if isinstance(item, (dict, list, tuple)):
                set_origin_all(item, origin)
