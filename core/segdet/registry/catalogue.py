"""Which not-installed distribution would provide a component: read from wheels, not a table.

When a config names a type nobody installed, the hint ``pip install segdet-neck-bifpn``
comes from the entry points of wheel files the user's pip would install from: the
folders in ``PIP_FIND_LINKS`` and ``SEGDET_WHEELHOUSE`` (space- or ``os.pathsep``-separated)
and ``./dist`` (where ``make wheels`` puts the project's own).  Each wheel's
``*.dist-info/entry_points.txt`` is read from the zip; nothing is imported or installed.
Only the error path calls this.
"""
from __future__ import annotations

import os
import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

__all__ = ["providers_from_wheels", "wheel_dirs"]

_DIST_OF_WHEEL = re.compile(r"^(?P<name>[^-]+)-")


def wheel_dirs() -> list[Path]:
    """Folders searched for wheels, in order, existing ones only."""
    raw: list[str] = []
    for var in ("SEGDET_WHEELHOUSE", "PIP_FIND_LINKS"):
        value = os.environ.get(var, "")
        raw.extend(p for chunk in value.split(os.pathsep) for p in chunk.split() if p)
    raw.append("dist")
    seen: list[Path] = []
    for item in raw:
        path = Path(item.removeprefix("file://")).expanduser()
        if path.is_dir() and path.resolve() not in seen:
            seen.append(path.resolve())
    return seen


def _entry_points(wheel: Path) -> Iterator[tuple[str, str]]:
    import configparser  # only the error path reads wheels: importing the registry stays cheap
    import zipfile

    try:
        with zipfile.ZipFile(wheel) as zf:
            member = next((n for n in zf.namelist() if n.endswith(".dist-info/entry_points.txt")), None)
            if member is None:
                return
            text = zf.read(member).decode("utf-8", "replace")
    except (OSError, zipfile.BadZipFile):
        return
    parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        parser.read_string(text)
    except configparser.Error:
        return
    for section in parser.sections():
        for name in parser[section]:
            yield section, name


@lru_cache(maxsize=8)
def _index(dirs: tuple[Path, ...]) -> dict[tuple[str, str], tuple[str, ...]]:
    found: dict[tuple[str, str], set[str]] = {}
    for folder in dirs:
        for wheel in sorted(folder.glob("*.whl")):
            match = _DIST_OF_WHEEL.match(wheel.name)
            if not match:
                continue
            dist = match["name"].replace("_", "-")
            for group, name in _entry_points(wheel):
                found.setdefault((group, name), set()).add(dist)
    return {k: tuple(sorted(v)) for k, v in found.items()}


def providers_from_wheels(group: str, name: str) -> tuple[str, ...]:
    """Distributions among the reachable wheels that export ``name`` in ``group`` (full name)."""
    return _index(tuple(wheel_dirs())).get((group, name), ())
