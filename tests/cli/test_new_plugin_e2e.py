"""``segdet new-plugin neck my-neck``, then ``pip install ./my-neck && pytest my-neck`` in a fresh
venv, then the generated neck trains inside the shapes RetinaNet config.

What "fresh" means here, and why. The machine is offline and the development venv holds
torch, segdet and the project's plugins as editable installs. The test makes a new stdlib
venv (``python -m venv --without-pip``) with nothing installed in it; one ``.pth`` line runs
``site.addsitedir`` on the development site-packages, so segdet, torch and the other plugins
are visible there as they would be after ``pip install segdet ...`` (nothing is downloaded).
A ``--system-site-packages`` venv would not do: the development venv is not the system
Python. The generated distribution is then installed by pip into the fresh venv only (pip
run with ``--python`` on the venv's interpreter, ``--no-deps --no-build-isolation`` because
its dependencies are already visible and there is no index), as a regular, non-editable
wheel; ``pytest my-neck`` and ``segdet train`` run with the venv's interpreter. The
development venv must not see ``my-neck`` before or after.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHAPES_RETINANET = ROOT / "configs" / "retinanet" / "retinanet_r18_fpn_shapes.py"


def _run(*args: str | Path, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"{' '.join(map(str, args))} failed ({proc.returncode}):\n" \
                                 f"{proc.stdout[-5000:]}\n{proc.stderr[-5000:]}"
    return proc


def _fresh_venv(where: Path) -> Path:
    env = _clean_env()
    _run(sys.executable, "-m", "venv", "--without-pip", where, cwd=where.parent, env=env)
    python = where / "bin" / "python"
    purelib = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                        cwd=where.parent, env=env).stdout.strip())
    dev_site = sysconfig.get_paths()["purelib"]
    (purelib / "_segdet_dev_env.pth").write_text(f"import site; site.addsitedir({dev_site!r})\n")
    return python


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTEST_ADDOPTS")}
    env["OMP_NUM_THREADS"] = "1"
    return env


def _dev_has_my_neck() -> bool:
    out = subprocess.run([sys.executable, "-m", "segdet_cli.main", "list-components", "--group", "necks"],
                         capture_output=True, text=True, timeout=300).stdout
    return "MyNeck" in out


@pytest.mark.slow
def test_new_neck_installs_passes_its_tests_and_trains_in_retinanet(tmp_path: Path) -> None:
    env = _clean_env()
    assert not _dev_has_my_neck()

    # 1. generate
    plugins = tmp_path / "D"
    _run(sys.executable, "-m", "segdet_cli.main", "new-plugin", "neck", "my-neck", "--dir", plugins,
         cwd=tmp_path, env=env)

    # 2. pip install ./my-neck into a fresh venv
    python = _fresh_venv(tmp_path / "venv")
    listing = (python, "-m", "segdet_cli.main", "list-components", "--group", "necks")
    assert "MyNeck" not in _run(*listing, cwd=plugins, env=env).stdout
    _run(sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", "--no-build-isolation",
         "--no-index", "./my-neck", cwd=plugins, env=env)
    rows = [line.split() for line in _run(*listing, cwd=plugins, env=env).stdout.splitlines()]
    assert ["necks", "MyNeck", "my-neck", "0.1.0", "ok"] in rows
    origin = _run(python, "-c", "import my_neck; print(my_neck.__file__)", cwd=tmp_path, env=env).stdout.strip()
    assert Path(origin).resolve().is_relative_to((tmp_path / "venv").resolve()), origin  # the wheel, not D/

    # 3. pytest my-neck: the generated tests, unchanged, through segdet's pytest plugin
    proc = _run(python, "-m", "pytest", "my-neck", "-p", "no:cacheprovider", cwd=plugins, env=env)
    summary = proc.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary and "error" not in summary and "skipped" not in summary
    assert "test_neck_contract[necks/MyNeck(" in _run(
        python, "-m", "pytest", "my-neck", "-p", "no:cacheprovider", "--collect-only", "-q",
        cwd=plugins, env=env).stdout

    # 4. the generated neck inside RetinaNet: a config derived from the shapes demo config
    _run(python, "-m", "segdet_cli.main", "data", "shapes", "--out", "data/shapes", "--num-train", "4",
         "--num-val", "2", "--img-size", "64", cwd=tmp_path, env=env)
    cfg = tmp_path / "retinanet_my_neck.py"
    cfg.write_text(textwrap.dedent(f"""
        _base_ = {str(SHAPES_RETINANET)!r}
        model = dict(neck=dict(_delete_=True, type='MyNeck', out_channels=16))
    """))
    work = tmp_path / "work"
    _run(python, "-m", "segdet_cli.main", "train", cfg, "--work-dir", work, "--device", "cpu", "--seed", "0",
         "--no-validate", "--cfg-options", "model.neck.type=MyNeck", "model.backbone.base_channels=8",
         "model.bbox_head.in_channels=16", "model.bbox_head.feat_channels=16",
         "model.bbox_head.norm_cfg.num_groups=4", "data.samples_per_gpu=2", "data.workers_per_gpu=0",
         "runner.max_epochs=1", "lr_config.warmup_iters=1", "log_config.interval=1", cwd=tmp_path, env=env)

    train = [json.loads(line) for line in next(work.glob("*.log.json")).read_text().splitlines()]
    train = [x for x in train if x.get("mode") == "train"]
    assert train and all(0 < x[k] < 1e4 for x in train for k in ("loss_cls", "loss_bbox"))  # finite, positive
    meta = json.loads((work / "env.json").read_text())
    assert "my-neck" in meta["plugins_used"]
    check = textwrap.dedent("""
        import sys, torch
        state = torch.load(sys.argv[1], map_location='cpu', weights_only=True)['state_dict']
        print(sorted(k for k in state if k.startswith('neck.'))[:2])
        print(tuple(state['neck.lateral_convs.2.conv.weight'].shape))
    """)
    out = _run(python, "-c", check, work / "latest.pth", cwd=tmp_path, env=env).stdout.splitlines()
    assert out[0] == "['neck.lateral_convs.0.conv.bias', 'neck.lateral_convs.0.conv.weight']", out
    assert out[1] == "(16, 64, 1, 1)"  # in_channels filled from the backbone: base 8 -> [16, 32, 64]

    assert not _dev_has_my_neck()


@pytest.mark.slow
def test_every_kind_installs_and_passes_its_own_tests(tmp_path: Path) -> None:
    """The same route for the other kinds: each generated distribution passes its tests unchanged."""
    from segdet_cli.plugin_templates import KINDS

    env = _clean_env()
    plugins = tmp_path / "D"
    for kind in KINDS:
        _run(sys.executable, "-m", "segdet_cli.main", "new-plugin", kind, f"gen-{kind}", "--dir", plugins,
             cwd=tmp_path, env=env)
    python = _fresh_venv(tmp_path / "venv")
    _run(sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", "--no-build-isolation",
         "--no-index", *(f"./gen-{kind}" for kind in KINDS), cwd=plugins, env=env)
    # one pytest session over all eight distributions (each one's tests/ has its own module names)
    proc = _run(python, "-m", "pytest", *(f"gen-{kind}" for kind in KINDS), "-p", "no:cacheprovider", "-v",
                cwd=plugins, env=env)
    summary = proc.stdout.strip().splitlines()[-1]
    assert " passed" in summary and not any(w in summary for w in ("failed", "error", "skipped")), summary
    for kind in KINDS:
        assert any(f"/test_gen_{kind}.py::" in line and line.rstrip().endswith("]") and " PASSED" in line
                   for line in proc.stdout.splitlines()), kind
