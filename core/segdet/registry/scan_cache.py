"""An on-disk cache of the discovery scan, for listings: valid while the environment is unchanged.

The key is a *fingerprint* of what :func:`importlib.metadata.distributions` would read: for every
``sys.path`` entry its modification time and, for a folder, the name of each ``*.dist-info`` /
``*.egg-info`` inside with the time and size of its ``entry_points.txt``. Installing, removing,
upgrading or reinstalling a distribution (``pip install -e`` of an edited pyproject included) and
editing an ``entry_points.txt`` in place change it; computing it costs a directory listing and one
``stat`` call per distribution, much less than reading every distribution's metadata.

The file lives in the user's cache folder (``SEGDET_CACHE_DIR``, else ``$XDG_CACHE_HOME/segdet``,
else ``~/.cache/segdet``), never beside the installed packages, one file per interpreter and
``sys.path``. It only ever serves *listings*: building a component scans the metadata itself, so a
stale or tampered cache file can show a wrong line but can never choose what code is imported.
A file that cannot be read, parsed or validated is ignored and rewritten; a folder that cannot be
written only costs the scan. ``SEGDET_NO_CACHE=1`` (or ``segdet list-components --no-cache``)
bypasses it.
"""
from __future__ import annotations

import json
import os
import sys
import zlib
from pathlib import Path
from typing import Any

__all__ = ["cache_dir", "cache_enabled", "cache_file", "fingerprint", "load", "store"]

#: bump when what a scan produces changes shape or meaning, so old files are ignored
FORMAT = 1
_KEEP = 32  # cache files kept per folder (one per interpreter + sys.path); the oldest go first
_SUFFIXES = (".dist-info", ".egg-info")


def cache_enabled() -> bool:
    """False when ``SEGDET_NO_CACHE`` is set to 1/true/yes/on."""
    return os.environ.get("SEGDET_NO_CACHE", "").strip().lower() not in ("1", "true", "yes", "on")


def cache_dir() -> Path:
    """``SEGDET_CACHE_DIR``, else ``$XDG_CACHE_HOME/segdet``, else the platform's user cache folder."""
    explicit = os.environ.get("SEGDET_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "segdet"
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "segdet" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "segdet"
    return Path.home() / ".cache" / "segdet"


def cache_file() -> Path:
    """The cache file of this interpreter and ``sys.path`` (an environment seen the same way)."""
    ident = "\0".join([sys.executable, *map(str, sys.path)]).encode("utf-8", "surrogateescape")
    return cache_dir() / f"discovery-{zlib.crc32(ident):08x}.json"


def _only_standard_finders() -> bool:
    """Distributions come only from ``sys.path`` folders and zips, nothing the fingerprint cannot
    see: a custom finder on ``sys.meta_path`` that provides distributions disables it. The standard
    path finder and the ``importlib_metadata`` backport's ``MetadataPathFinder`` (which mlflow,
    among others, installs on import) both read ``sys.path`` only."""
    import importlib.machinery

    for finder in sys.meta_path:
        if getattr(finder, "find_distributions", None) is None or finder is importlib.machinery.PathFinder:
            continue
        kind = finder if isinstance(finder, type) else type(finder)
        if kind.__module__.split(".")[0] == "importlib_metadata" and kind.__name__ == "MetadataPathFinder":
            continue
        return False
    return True


def _stat_key(path: str) -> list[int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_mtime_ns, st.st_size]


def _folder_entries(folder: str) -> list[list[Any]]:
    entries: list[list[Any]] = []
    try:
        with os.scandir(folder) as it:
            for entry in it:
                if entry.name.lower().endswith(_SUFFIXES):
                    # a reinstall writes entry_points.txt anew: its time (and size) tell it, no need
                    # to stat the metadata folder itself
                    entries.append([entry.name, _stat_key(os.path.join(entry.path, "entry_points.txt"))])
    except OSError:
        return [["<unreadable>"]]
    entries.sort()
    return entries


def fingerprint(extra: str = "") -> str | None:
    """A string that changes whenever the set of distributions or their entry points may have
    changed; ``None`` when that cannot be told cheaply (a custom distribution finder is installed)."""
    if not _only_standard_finders():
        return None
    state: list[Any] = [FORMAT, extra, sys.version]
    for entry in sys.path:
        if not isinstance(entry, str):  # bytes or other objects: importlib handles them its own way
            return None
        folder = os.path.abspath(entry or ".")  # '' and relative entries follow the working folder
        try:
            st = os.stat(folder)
        except OSError:
            state.append([folder, None])
            continue
        if os.path.isdir(folder):
            state.append([folder, st.st_mtime_ns, _folder_entries(folder)])
        else:  # a zip or egg on sys.path: its contents change with its time and size
            state.append([folder, st.st_mtime_ns, st.st_size])
    return json.dumps(state, separators=(",", ":"))


def load(key: str) -> Any | None:
    """The payload stored under ``key``, or ``None`` (no file, another key, unreadable, corrupt)."""
    try:
        with open(cache_file(), encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("key") != key:
        return None
    return data.get("payload")


def store(key: str, payload: Any) -> bool:
    """Write ``payload`` under ``key`` atomically (temporary file + rename); False if it could not."""
    path = cache_file()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"format": FORMAT, "key": key, "payload": payload}, f, separators=(",", ":"))
        os.replace(tmp, path)
    except (OSError, TypeError, ValueError):
        try:
            tmp.unlink()
        except OSError:
            pass
        return False
    _prune(path.parent)
    return True


def _prune(folder: Path) -> None:
    """Keep the ``_KEEP`` most recently written cache files (tests make many short-lived paths)."""
    try:
        files = [(p.stat().st_mtime_ns, p) for p in folder.glob("discovery-*.json")]
        for _, old in sorted(files, reverse=True)[_KEEP:]:
            old.unlink()
    except OSError:
        pass
