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
``pip install`` in-process, or in tests that write ``*.dist-info`` folders). Its cost grows with
the number of installed distributions, so per distribution it reads only ``entry_points.txt``
(no full ``METADATA`` parse, no ``configparser``); name and version are read from the header of
``METADATA`` of the few that declare ``segdet.`` groups.

Listings (``segdet list-components``) may pass ``cached=True`` to answer from the on-disk cache of
:mod:`segdet.registry.scan_cache`, valid while no distribution was installed, removed or changed.
Building never does: :func:`discover` without ``cached`` always scans the metadata itself.
"""
from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, NamedTuple

from . import scan_cache
from .groups import GROUPS, PLUGIN_API_GROUP, PLUGIN_API_VERSION, full_group
from .records import CLASH, INCOMPATIBLE, OK, ComponentInfo

if TYPE_CHECKING:
    from importlib import metadata

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


class _Scan(NamedTuple):
    components: list[ComponentInfo]
    stray: list[StrayGroup]


_SCANNED: _Scan | None = None  # this process's own scan of the metadata: the one building trusts
_LISTED: _Scan | None = None  # for listings only: the scan, or the on-disk cache of an earlier one


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
    """The ``segdet.*`` sections of an ``entry_points.txt`` (INI: ``[group]``, ``name = target``)."""
    groups: dict[str, dict[str, str]] = {}
    section: dict[str, str] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line[0] == "[" and line[-1] == "]":
            group = line[1:-1].strip()
            section = groups.setdefault(group, {}) if group.startswith("segdet.") else None
        elif section is not None:
            name, sep, target = line.partition("=")
            if sep:
                section[name.strip()] = target.strip()
    return groups


def _name_version(dist: metadata.Distribution) -> tuple[str, str]:
    """``Name`` and ``Version`` from the header of the distribution's metadata, without parsing
    the rest (the long description is most of the file)."""
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
    found: dict[str, str] = {}
    for line in text.split("\n\n", 1)[0].splitlines():  # the header; the long description follows
        if not line:
            break
        key, sep, value = line.partition(":")
        if sep and key in ("Name", "Version") and key not in found:
            found[key] = value.strip()
    if "Name" not in found or "Version" not in found:  # unusual layout: let importlib parse it
        md = dist.metadata
        found = {"Name": md["Name"] or "?", "Version": md["Version"] or "?"}
    return found["Name"] or "?", found["Version"] or "?"


def _find(dists: Iterable[metadata.Distribution], stray: list[StrayGroup] | None = None) -> list[ComponentInfo]:
    found: list[ComponentInfo] = []
    seen: set[str] = set()
    for dist in dists:
        text = dist.read_text("entry_points.txt")
        if not text or "[segdet." not in text:
            continue
        name, version = _name_version(dist)
        key = _normalize(name)
        if key in seen:  # the same distribution twice on sys.path: the first wins, as for imports
            continue
        seen.add(key)
        groups = _parse_entry_points(text)
        api = next(iter(groups.get(PLUGIN_API_GROUP, {})), "")
        for group, entries in groups.items():
            if group not in GROUPS:
                if stray is not None and group != PLUGIN_API_GROUP:
                    import difflib

                    close = difflib.get_close_matches(group, GROUPS, n=1, cutoff=0.6)
                    stray.append(StrayGroup(name, version, group, tuple(entries), close[0] if close else None))
                continue
            for ep_name, target in entries.items():
                found.append(ComponentInfo(group, ep_name, name, version, target, OK, api))
    return found


def _sort_key(info: ComponentInfo) -> tuple[str, ...]:
    # the attrs order of ComponentInfo, as a plain tuple (attrs' __lt__ is slow on hundreds of records)
    return (info.group, info.name, info.distribution, info.version, info.target, info.state, info.api)


def _classify(found: list[ComponentInfo]) -> list[ComponentInfo]:
    by_key: dict[tuple[str, str], list[ComponentInfo]] = defaultdict(list)
    for info in found:
        by_key[(info.group, info.name)].append(info)
    out: list[ComponentInfo] = []
    compatible: dict[str, bool] = {}
    for infos in by_key.values():
        clash = len({i.distribution for i in infos}) > 1
        for info in infos:
            state = OK
            if info.api not in compatible:
                compatible[info.api] = api_compatible(info.api)
            if not compatible[info.api]:
                state = INCOMPATIBLE
            elif clash:
                state = CLASH
            out.append(ComponentInfo(info.group, info.name, info.distribution, info.version,
                                     info.target, state, info.api))
    return sorted(out, key=_sort_key)


def _scan() -> _Scan:
    from importlib import metadata  # here, not at the top: a listing from the cache does without it

    stray: list[StrayGroup] = []
    found = _classify(_find(metadata.distributions(), stray))
    return _Scan(found, sorted(stray))


def _cache_key() -> str | None:
    # what the scan's result depends on besides the environment: the groups and API this core offers
    return scan_cache.fingerprint(f"{PLUGIN_API_VERSION} {' '.join(GROUPS)}")


def _to_payload(scan: _Scan) -> dict[str, list[list[Any]]]:
    return {"components": [list(_sort_key(i)) for i in scan.components],
            "stray": [[s.distribution, s.version, s.group, list(s.names), s.closest] for s in scan.stray]}


def _strings(value: Any, count: int | None = None) -> bool:
    return isinstance(value, list) and (count is None or len(value) == count) and \
        all(isinstance(v, str) for v in value)


def _from_payload(payload: Any) -> _Scan | None:
    """The scan stored in a cache file, or ``None`` if it is not exactly the expected shape."""
    try:
        rows, strays = payload["components"], payload["stray"]
        if not isinstance(rows, list) or not isinstance(strays, list):
            return None
        if not all(_strings(row, 7) for row in rows) or not all(
                isinstance(s, list) and len(s) == 5 and _strings(s[:3]) and _strings(s[3])
                and (s[4] is None or isinstance(s[4], str)) for s in strays):
            return None
    except (KeyError, TypeError):
        return None
    return _Scan([ComponentInfo(*row) for row in rows], [StrayGroup(d, v, g, tuple(n), c) for d, v, g, n, c in strays])


def _listed() -> _Scan:
    """For listings: this process's scan if it has one, else the cache file while the environment is
    unchanged, else a scan (written to the cache for the next listing)."""
    global _LISTED
    if _SCANNED is not None:
        return _SCANNED
    if _LISTED is None:
        key = _cache_key() if scan_cache.cache_enabled() else None
        cached = _from_payload(scan_cache.load(key)) if key is not None else None
        if cached is None:
            # the key is taken before scanning: an install during the scan makes the next key differ
            cached = _scanned()
            if key is not None:
                scan_cache.store(key, _to_payload(cached))
        _LISTED = cached
    return _LISTED


def _scanned() -> _Scan:
    global _SCANNED
    if _SCANNED is None:
        _SCANNED = _scan()
    return _SCANNED


def discover(*, cached: bool = False) -> list[ComponentInfo]:
    """Every installed component, sorted by group then name; scanned once per process.

    Args:
        cached: answer from the on-disk cache when the environment has not changed since it was
            written. Only for listings: what is built is always looked up in a real scan.
    """
    return (_listed() if cached else _scanned()).components


def stray_groups(*, cached: bool = False) -> list[StrayGroup]:
    """Entry-point groups that start with ``segdet.`` but are not known groups (from the same scan)."""
    return list((_listed() if cached else _scanned()).stray)


def refresh() -> None:
    """Forget the scan, so the next call reads the installed metadata again."""
    global _SCANNED, _LISTED
    _SCANNED = None
    _LISTED = None


def components(group: str | None = None, *, cached: bool = False) -> list[ComponentInfo]:
    """Installed components plus locally registered ones, optionally of one group.

    ``cached=True`` is for listings only (see :func:`discover`).
    """
    from .local import local_components

    items = discover(cached=cached) + local_components()
    if group is not None:
        g = full_group(group)
        items = [i for i in items if i.group == g]
    return sorted(items, key=_sort_key)
