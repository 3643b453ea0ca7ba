"""The BiFPN plugin as a user gets it: a wheel, installed by distribution name, then removed.

How the environment is isolated, and why. The development venv already holds an editable
install of segdet-neck-bifpn, and discovery reads every ``*.dist-info`` on ``sys.path``, so
installing the wheel next to it (``--target`` + ``PYTHONPATH``, or a venv with
``--system-site-packages``) would test the editable copy, or two copies at once. Instead:

* a fresh venv (no pip, no site packages of its own) gets one ``.pth`` line that runs
  ``site.addsitedir`` on a *mirror* of the development site-packages: a folder of symlinks
  to every entry there except those of segdet-neck-bifpn (its ``dist-info``, its editable
  ``.pth`` and finder). segdet, torch and the other plugins are thus the development ones,
  and BiFPN is absent - which the test checks first;
* the wheel is built from a copy of ``plugins/necks/bifpn`` (so the source tree gets no
  ``build/``) and installed into that venv by pip (the development pip, run with
  ``--python`` on the venv's interpreter), from the wheel folder only, by distribution name;
* ``segdet list-components`` and a build from a config file run in the venv's interpreter;
  the module that is built must come from the venv, not from the source tree;
* pip uninstalls it, and listing and building must show it gone. The development
  site-packages is compared before and after: it must not change.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = ROOT / "plugins" / "necks" / "bifpn"
DIST = "segdet-neck-bifpn"
PKG = "segdet_neck_bifpn"


def _run(*args: str | Path, env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(a) for a in args], capture_output=True, text=True, env=env, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} failed ({proc.returncode}):\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc


def _version() -> str:
    match = re.search(r'^version\s*=\s*"([^"]+)"', (PLUGIN / "pyproject.toml").read_text(), re.MULTILINE)
    assert match is not None
    return match.group(1)


def _mirror_without_plugin(site: Path, mirror: Path, pkg: str = PKG, plugin: Path = PLUGIN) -> None:
    mirror.mkdir()
    for entry in site.iterdir():
        name = entry.name.lower().replace("-", "_")
        if pkg in name:
            continue
        if entry.suffix == ".pth" and str(plugin) in entry.read_text(errors="replace"):
            continue  # a path-style editable install of this plugin
        (mirror / entry.name).symlink_to(entry)


def _fresh_venv(tmp: Path, mirror: Path) -> Path:
    venv = tmp / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    purelib = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip())
    (purelib / "_segdet_dev_env.pth").write_text(f"import site; site.addsitedir({str(mirror)!r})\n")
    return python


def _components(python: Path, env: dict[str, str], group: str = "necks") -> tuple[list[dict[str, str]], str]:
    cli = (python, "-m", "segdet_cli.main", "list-components", "--group", group)
    as_json = _run(*cli, "--json", env=env).stdout
    table = _run(*cli, env=env).stdout
    return json.loads(as_json), table


_BUILD = textwrap.dedent("""
    import sys, torch
    from segdet import Config
    from segdet.registry import build
    cfg = Config.fromfile(sys.argv[1])
    neck = build(cfg.neck, 'necks')
    feats = [torch.rand(2, c, 32 // 2**i, 32 // 2**i) for i, c in enumerate(cfg.neck.in_channels)]
    print(type(neck).__module__, sys.modules[type(neck).__module__].__file__)
    print([tuple(o.shape) for o in neck(feats)])
""")


@pytest.mark.slow
def test_bifpn_wheel_installs_lists_builds_and_uninstalls(tmp_path: Path) -> None:
    site = Path(sysconfig.get_paths()["purelib"])
    before = sorted(p.name for p in site.iterdir())
    version = _version()

    src = tmp_path / "src"
    shutil.copytree(PLUGIN, src, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__", "tests"))
    wheels = tmp_path / "wheels"
    _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", wheels, src)
    assert [w.name for w in wheels.glob("*.whl")] == [f"{PKG}-{version}-py3-none-any.whl"]

    mirror = tmp_path / "dev-site-packages"
    _mirror_without_plugin(site, mirror)
    python = _fresh_venv(tmp_path, mirror)
    cfg = tmp_path / "bifpn_neck.py"
    cfg.write_text("neck = dict(type='BiFPN', in_channels=[8, 16, 32], out_channels=8, num_outs=4)\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}

    # 1. not there yet; the development environment (segdet, FPN) is
    rows, _ = _components(python, env)
    assert {r["name"] for r in rows} >= {"FPN"} and "BiFPN" not in {r["name"] for r in rows}

    # 2. install the wheel by distribution name from the wheel folder only
    pip = (sys.executable, "-m", "pip", "--python", python)
    _run(*pip, "install", "-q", "--no-deps", "--no-index", "--find-links", wheels, DIST, env=env)
    rows, table = _components(python, env)
    mine = [r for r in rows if r["name"] == "BiFPN"]
    assert mine == [dict(mine[0], distribution=DIST, version=version, state="ok")]
    row = next(line.split() for line in table.splitlines() if "BiFPN" in line.split())
    assert row[1:4] == ["BiFPN", DIST, version]
    built = _run(python, "-c", _BUILD, cfg, env=env).stdout.splitlines()
    module, origin = built[0].split()
    assert module == f"{PKG}.bifpn"
    assert Path(origin).resolve().is_relative_to((tmp_path / "venv").resolve()), origin
    assert built[1] == str([(2, 8, 32, 32), (2, 8, 16, 16), (2, 8, 8, 8), (2, 8, 4, 4)])

    # 3. uninstall: gone from the listing, and a config naming it fails with the reason
    _run(*pip, "uninstall", "-y", "-q", DIST, env=env)
    rows, table = _components(python, env)
    assert "BiFPN" not in {r["name"] for r in rows} and "BiFPN" not in table
    failed = _run(python, "-c", _BUILD, cfg, env=env, check=False)
    assert failed.returncode != 0
    assert "UnknownComponentError" in failed.stderr and "'BiFPN'" in failed.stderr, failed.stderr

    assert sorted(p.name for p in site.iterdir()) == before


@pytest.mark.slow
@pytest.mark.parametrize("folder, dist, pkg, hook", [
    ("plugins/hooks/wandb", "segdet-hook-wandb", "segdet_hook_wandb", "WandbLoggerHook"),
    ("plugins/hooks/mlflow", "segdet-hook-mlflow", "segdet_hook_mlflow", "MlflowLoggerHook"),
])
def test_logger_hook_wheels_install_by_name_and_list(tmp_path: Path, folder: str, dist: str, pkg: str,
                                                     hook: str) -> None:
    """The logger hook distributions install by name from a wheel folder like the others, and list."""
    plugin = ROOT / folder
    src = tmp_path / "src"
    shutil.copytree(plugin, src, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__", "tests"))
    wheels = tmp_path / "wheels"
    _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", wheels, src)
    mirror = tmp_path / "dev-site-packages"
    _mirror_without_plugin(Path(sysconfig.get_paths()["purelib"]), mirror, pkg, plugin)
    python = _fresh_venv(tmp_path, mirror)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    rows, _ = _components(python, env, "hooks")
    assert hook not in {r["name"] for r in rows}
    pip = (sys.executable, "-m", "pip", "--python", python)
    _run(*pip, "install", "-q", "--no-deps", "--no-index", "--find-links", wheels, dist, env=env)
    rows, _ = _components(python, env, "hooks")
    assert [(r["distribution"], r["state"]) for r in rows if r["name"] == hook] == [(dist, "ok")]
    _run(*pip, "uninstall", "-y", "-q", dist, env=env)
    rows, _ = _components(python, env, "hooks")
    assert hook not in {r["name"] for r in rows}
