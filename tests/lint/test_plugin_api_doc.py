"""docs/PLUGIN_API.md lists exactly the names segdet.api exports: the surface the version promises."""
from __future__ import annotations

import re
from pathlib import Path

import segdet.api

DOC = Path(__file__).resolve().parents[2] / "docs" / "PLUGIN_API.md"


def _documented() -> set[str]:
    names: set[str] = set()
    for line in DOC.read_text().splitlines():
        if line.startswith("| `") and "|---" not in line:
            first_cell = line.split("|")[1]
            names.update(re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", first_cell))
    return names


def test_every_exported_name_is_documented():
    missing = sorted(set(segdet.api.__all__) - _documented())
    assert not missing, f"add to docs/PLUGIN_API.md: {missing}"


def test_every_documented_name_is_exported():
    declarations = {"slots", "out_channels", "strides", "needs_sampling", "needs_level_counts", "meta"}
    extra = sorted(_documented() - set(segdet.api.__all__) - declarations)
    assert not extra, f"docs/PLUGIN_API.md lists names segdet.api does not export: {extra}"


def test_exported_names_exist():
    for name in segdet.api.__all__:
        assert hasattr(segdet.api, name), name
