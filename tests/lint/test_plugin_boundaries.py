"""Plugins see segdet only through segdet.api, and no plugin imports another plugin.

The first rule is ruff's banned-api (plugins/ruff.toml), run by `make lint`; these tests prove
the rule bites and add the one ruff cannot express: a distribution imports no sibling's package.
"""
from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUFF = str(Path(sys.executable).with_name("ruff"))


def _plugin_packages() -> dict[Path, set[str]]:
    """Each plugin folder -> the top-level packages it ships (folders holding __init__.py)."""
    out: dict[Path, set[str]] = {}
    for pyproject in sorted(ROOT.glob("plugins/*/*/pyproject.toml")) + sorted(ROOT.glob("plugins/*/pyproject.toml")):
        folder = pyproject.parent
        out[folder] = {p.parent.name for p in folder.glob("*/__init__.py") if p.parent.name != "tests"}
    return out


def _imported_tops(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    tops: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            tops.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            tops.add(node.module.split(".")[0])
    return tops


def test_no_plugin_imports_another_plugin():
    packages = _plugin_packages()
    assert packages, "no plugin distributions found under plugins/"
    owner = {pkg: folder for folder, pkgs in packages.items() for pkg in pkgs}
    problems = []
    for folder, own in packages.items():
        for path in folder.rglob("*.py"):
            if "build" in path.parts:
                continue
            for top in _imported_tops(path):
                if top in owner and top not in own:
                    problems.append(f"{path.relative_to(ROOT)} imports {top} "
                                    f"(from {owner[top].relative_to(ROOT)})")
    assert not problems, "plugins depend only on segdet:\n" + "\n".join(problems)


def test_ruff_rule_refuses_private_core_imports(tmp_path):
    """A file placed under plugins/ that imports a private core module fails `ruff check`."""
    probe_dir = ROOT / "plugins" / "_probe_boundary"
    probe_dir.mkdir()
    try:
        good = probe_dir / "good.py"
        good.write_text("from segdet.api import ConvModule\n\n__all__ = ['ConvModule']\n")
        bad = probe_dir / "bad.py"
        bad.write_text("from segdet.models.layers import ConvModule\n\n__all__ = ['ConvModule']\n")
        ok = subprocess.run([RUFF, "check", "--no-cache", str(good)], capture_output=True, text=True, cwd=ROOT)
        assert ok.returncode == 0, ok.stdout
        refused = subprocess.run([RUFF, "check", "--no-cache", str(bad)], capture_output=True, text=True, cwd=ROOT)
        assert refused.returncode != 0
        assert re.search(r"TID251 .segdet\.models. is banned", refused.stdout), refused.stdout
    finally:
        for f in probe_dir.iterdir():
            f.unlink()
        probe_dir.rmdir()


def test_core_layer_contract_is_kept():
    lint = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run([str(lint)], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "1 kept, 0 broken" in proc.stdout
