"""Write real ``*.dist-info`` folders (and modules) under a directory, for discovery tests."""
from __future__ import annotations

import sys
from pathlib import Path

from segdet.registry import refresh


def write_dist(site: Path, name: str, version: str, entry_points: dict[str, dict[str, str]],
               modules: dict[str, str] | None = None, api: str | None = "1.0") -> None:
    """Create ``site/<name>-<version>.dist-info`` with METADATA and entry_points.txt."""
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    groups = dict(entry_points)
    if api is not None:
        groups["segdet.plugin_api"] = {api: name.replace("-", "_")}
    text = ""
    for group, entries in groups.items():
        text += f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in entries.items()) + "\n"
    (info / "entry_points.txt").write_text(text)
    for mod, source in (modules or {}).items():
        (site / f"{mod}.py").write_text(source)


def activate(site: Path, monkeypatch) -> None:
    monkeypatch.syspath_prepend(str(site))
    refresh()


def deactivate(site: Path) -> None:
    for mod in [m for m, v in sys.modules.items() if str(site) in str(getattr(v, "__file__", "") or "")]:
        del sys.modules[mod]
    refresh()
