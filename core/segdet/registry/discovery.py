"""Find components from entry-point metadata, without importing them.

Three plain phases, as in flake8's plugin finder:

* *find*: read ``entry_points.txt`` of every installed distribution; skip those
  without a ``segdet.`` group before parsing anything else of their metadata;
* *classify*: mark clashes (one name, one group, several distributions) and
  plugins written for an incompatible plugin API;
* *load* happens later, in :mod:`segdet.registry.build`, only for what a config names.

Groups that start with ``segdet.`` but are not known (``segdet.neck``) are kept aside as
:class:`StrayGroup` records, so ``doctor`` and ``list-components`` can warn about them.

The scan runs once per process; :func:`refresh` forgets it (after a
``pip install`` in-process, or in tests that write ``*.dist-info`` folders).
"""
from __future__ import annotations

import configparser
import difflib
import re
from collections import defaultdict
from collections.abc import Iterable
from importlib import metadata
from typing import NamedTuple

from .groups import GROUPS, PLUGIN_API_GROUP, PLUGIN_API_VERSION, full_group
from .records import CLASH, INCOMPATIBLE, OK, ComponentInfo

__all__ = ["discover", "refresh", "components", "api_compatible", "StrayGroup", "stray_groups"]


class StrayGroup(NamedTuple):
    """Entry points of ``distribution`` under ``group``, a ``segdet.`` group segdet does not know."""

    distribution: str
    version: str
    group: str
    names: tuple[str, ...]
    closest: str | None

    @property
    def message(self) -> str:
        fix = f"; did you mean {self.closest!r}?" if self.closest else "."
        return (f"{self.distribution} {self.version} declares entry points in unknown group {self.group!r} "
                f"({', '.join(self.names)}): they are ignored{fix} Fix the group name in its pyproject.toml "
                "and reinstall it.")


_CACHE: list[ComponentInfo] | None = None
_STRAY: list[StrayGroup] = []


def _normalize(dist_name: str) -> str:
    return re.sub(r"[-_.]+", "-", dist_name).lower()


def api_compatible(required: str, offered: str = PLUGIN_API_VERSION) -> bool:
    """A plugin written for ``required`` (``'1.0'``) runs on ``offered`` if majors match
    and the required minor is not newer. An empty ``required`` means 'not declared': ok."""
    if not required:
        return True
    try:
        r_major, r_minor = (int(x) for x in (required.split(".") + ["0"])[:2])
        o_major, o_minor = (int(x) for x in (offered.split(".") + ["0"])[:2])
    except ValueError:
        return False
    return r_major == o_major and r_minor <= o_minor


def _parse_entry_points(text: str) -> dict[str, dict[str, str]]:
    parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keep names' case
    parser.read_string(text)
    return {section: dict(parser.items(section)) for section in parser.sections()}


def _find(dists: Iterable[metadata.Distribution], stray: list[StrayGroup] | None = None) -> list[ComponentInfo]:
    found: list[ComponentInfo] = []
    seen: set[str] = set()
    for dist in dists:
        text = dist.read_text("entry_points.txt")
        if not text or "[segdet." not in text:
            continue
        name = dist.metadata["Name"] or "?"
        key = _normalize(name)
        if key in seen:  # the same distribution twice on sys.path: the first wins, as for imports
            continue
        seen.add(key)
        version = dist.metadata["Version"] or "?"
        groups = _parse_entry_points(text)
        api = next(iter(groups.get(PLUGIN_API_GROUP, {})), "")
        for group, entries in groups.items():
            if group not in GROUPS:
                if stray is not None and group.startswith("segdet.") and group != PLUGIN_API_GROUP:
                    close = difflib.get_close_matches(group, GROUPS, n=1, cutoff=0.6)
                    stray.append(StrayGroup(name, version, group, tuple(entries), close[0] if close else None))
                continue
            for ep_name, target in entries.items():
                found.append(ComponentInfo(group, ep_name, name, version, target.strip(), OK, api))
    return found


def _classify(found: list[ComponentInfo]) -> list[ComponentInfo]:
    by_key: dict[tuple[str, str], list[ComponentInfo]] = defaultdict(list)
    for info in found:
        by_key[(info.group, info.name)].append(info)
    out: list[ComponentInfo] = []
    for infos in by_key.values():
        clash = len({i.distribution for i in infos}) > 1
        for info in infos:
            state = OK
            if not api_compatible(info.api):
                state = INCOMPATIBLE
            elif clash:
                state = CLASH
            out.append(ComponentInfo(info.group, info.name, info.distribution, info.version,
                                     info.target, state, info.api))
    return sorted(out)


def discover() -> list[ComponentInfo]:
    """Every installed component, sorted by group then name; cached per process."""
    global _CACHE
    if _CACHE is None:
        stray: list[StrayGroup] = []
        _CACHE = _classify(_find(metadata.distributions(), stray))
        _STRAY[:] = sorted(stray)
    return _CACHE


def stray_groups() -> list[StrayGroup]:
    """Entry-point groups that start with ``segdet.`` but are not known groups (from the same scan)."""
    discover()
    return list(_STRAY)


def refresh() -> None:
    """Forget the cached scan, so the next call reads the installed metadata again."""
    global _CACHE
    _CACHE = None
    _STRAY.clear()


def components(group: str | None = None) -> list[ComponentInfo]:
    """Installed components plus locally registered ones, optionally of one group."""
    from .local import local_components

    items = discover() + local_components()
    if group is not None:
        g = full_group(group)
        items = [i for i in items if i.group == g]
    return sorted(items)
