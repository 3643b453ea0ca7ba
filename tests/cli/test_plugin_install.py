"""A plugin installs by distribution name from a wheel directory, lists, builds, uninstalls.

The plugin goes into a fresh virtual environment that sees the main one's packages
through ``site.addsitedir`` (so torch and segdet are not reinstalled), which leaves
the main environment untouched.
"""
from __future__ import annotations

import site
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PYPROJECT = """
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "segdet-neck-tiny"
version = "0.4.2"
dependencies = ["segdet>=0.1,<0.2"]

[project.entry-points."segdet.plugin_api"]
"1.0" = "segdet_neck_tiny"

[project.entry-points."segdet.necks"]
TinyNeck = "segdet_neck_tiny:TinyNeck"

[tool.setuptools]
packages = ["segdet_neck_tiny"]
"""

MODULE = '''
"""A tiny neck: a 1x1 conv per input level."""
from torch import nn


class TinyNeck(nn.Module):
    """1x1 conv from each input width to ``out_channels``."""

    def __init__(self, in_channels: list, out_channels: int = 4) -> None:
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(c, out_channels, 1) for c in in_channels)
        self.out_channels = [out_channels] * len(in_channels)

    def forward(self, feats):
        return tuple(conv(f) for conv, f in zip(self.convs, feats))
'''

BUILD_CHECK = """
import torch
from segdet.registry import build
neck = build(dict(type='TinyNeck', in_channels=[2, 3], out_channels=5), 'necks')
outs = neck([torch.zeros(1, 2, 4, 4), torch.zeros(1, 3, 2, 2)])
print('BUILT', [tuple(o.shape) for o in outs])
"""


def _run(cmd: list[str]) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.mark.slow
def test_wheel_install_list_build_uninstall(tmp_path: Path):
    src = tmp_path / "src"
    (src / "segdet_neck_tiny").mkdir(parents=True)
    (src / "pyproject.toml").write_text(PYPROJECT)
    (src / "segdet_neck_tiny" / "__init__.py").write_text(textwrap.dedent(MODULE))
    wheels = tmp_path / "wheels"
    pip = [sys.executable, "-m", "pip"]
    _run([*pip, "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(src)])
    assert list(wheels.glob("segdet_neck_tiny-0.4.2-*.whl"))

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    py = str(venv / "bin" / "python")
    venv_site = Path(_run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    main_sites = [p for p in site.getsitepackages() if Path(p).exists()]
    (venv_site / "_segdet_main_env.pth").write_text(
        "".join(f"import site; site.addsitedir({p!r})\n" for p in main_sites)
    )
    listing = [py, "-m", "segdet_cli.main", "list-components", "--group", "necks"]
    assert "TinyNeck" not in _run(listing).stdout

    _run([*pip, "--python", py, "install", "--quiet", "--no-index", "--no-deps",
          "--find-links", str(wheels), "segdet-neck-tiny"])
    rows = [line.split() for line in _run(listing).stdout.splitlines()]
    assert ["necks", "TinyNeck", "segdet-neck-tiny", "0.4.2", "ok"] in rows
    assert "BUILT [(1, 5, 4, 4), (1, 5, 2, 2)]" in _run([py, "-c", BUILD_CHECK]).stdout
    # the main environment never saw it
    main_rows = _run([sys.executable, "-m", "segdet_cli.main", "list-components", "-g", "necks"]).stdout
    assert "TinyNeck" not in main_rows

    _run([*pip, "--python", py, "uninstall", "--quiet", "-y", "segdet-neck-tiny"])
    assert "TinyNeck" not in _run(listing).stdout
