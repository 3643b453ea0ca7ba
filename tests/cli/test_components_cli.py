"""list-components, show-component, doctor and env, run as a user runs them."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.registry.fake_dists import write_dist

SEGDET = str(Path(sys.executable).with_name("segdet"))


def run(*args: str, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([SEGDET, *args], capture_output=True, text=True, env=env, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f"segdet {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def env_with(site: Path) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(site) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_list_components_does_not_import_torch():
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from segdet_cli.main import cli\n"
        "r = CliRunner().invoke(cli, ['list-components'])\n"
        "assert r.exit_code == 0, r.output\n"
        "assert 'RetinaNet' in r.output\n"
        "bad = [m for m in ('torch', 'torchvision', 'numpy') if m in sys.modules]\n"
        "print('IMPORTED', bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "IMPORTED []" in out.stdout


def test_list_components_table_and_json():
    table = run("list-components").stdout
    assert table.splitlines()[0].split() == ["group", "name", "distribution", "version", "state"]
    rows = [line.split() for line in table.splitlines()[2:]]
    assert rows == sorted(rows, key=lambda r: (r[0], r[1], r[2]))
    assert ["backbones", "ResNet", "segdet-backbone-resnet", "0.1.0", "ok"] in rows
    assert ["necks", "FPN", "segdet-neck-fpn", "0.1.0", "ok"] in rows
    data = json.loads(run("list-components", "--group", "necks", "--json").stdout)
    assert {d["group"] for d in data} == {"necks"}
    assert {"name", "distribution", "version", "state", "target"} <= set(data[0])


def test_list_components_bad_group():
    proc = run("list-components", "--group", "neckz", check=False)
    assert proc.returncode != 0 and "unknown component group 'neckz'" in proc.stderr


def test_listing_shows_clash_and_incompatible_states(tmp_path):
    write_dist(tmp_path, "segdet-neck-copy", "9.9", {"segdet.necks": {"FPN": "nowhere:FPN"}})
    write_dist(tmp_path, "segdet-neck-new", "5.0", {"segdet.necks": {"NewNeck": "nowhere:N"}}, api="7.0")
    rows = [line.split() for line in run("list-components", "-g", "necks", env=env_with(tmp_path)).stdout.splitlines()]
    assert ["necks", "FPN", "segdet-neck-copy", "9.9", "clash"] in rows
    assert ["necks", "FPN", "segdet-neck-fpn", "0.1.0", "clash"] in rows
    assert ["necks", "NewNeck", "segdet-neck-new", "5.0", "incompatible"] in rows


def test_show_component():
    out = run("show-component", "FPN", "--group", "necks").stdout
    assert "FPN (segdet-neck-fpn 0.1.0)" in out
    assert "signature: FPN(in_channels" in out and "num_outs" in out
    proc = run("show-component", "FPNN", check=False)
    assert proc.returncode != 0 and "FPN" in proc.stderr


def test_doctor_reports_broken_plugin_and_exits_nonzero(tmp_path):
    write_dist(tmp_path, "segdet-neck-broken", "0.1", {"segdet.necks": {"BrokenNeck": "broken_neck_m:X"}},
               {"broken_neck_m": "raise ImportError('needs libfoo')\n"})
    proc = run("doctor", env=env_with(tmp_path), check=False)
    assert proc.returncode == 1
    assert "necks/BrokenNeck: FAILED - ImportError: needs libfoo" in proc.stdout
    assert "necks/FPN: ok" in proc.stdout  # one broken plugin hides nothing


@pytest.mark.slow
def test_doctor_passes_on_the_installed_set():
    proc = run("doctor", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_env_lists_versions():
    out = run("env").stdout
    for key in ("Python", "torch", "torchvision", "CUDA available", "segdet", "segdet-neck-fpn"):
        assert key in out
