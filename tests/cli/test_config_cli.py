"""print-config (with --explain) and check-config, as a user runs them."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SEGDET = str(Path(sys.executable).with_name("segdet"))


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([SEGDET, *args], capture_output=True, text=True, timeout=300)


@pytest.fixture
def configs(tmp_path):
    base = tmp_path / "_base_"
    base.mkdir()
    (base / "model.py").write_text(
        "model = dict(\n"
        "    type='RetinaNet',\n"
        "    backbone=dict(type='ResNet', depth=18, base_channels=8),\n"
        "    neck=dict(type='FPN', out_channels=8, num_outs=3),\n"
        "    bbox_head=dict(type='RetinaHead', num_classes=2, stacked_convs=1, feat_channels=8,\n"
        "                   anchor_generator=dict(type='AnchorGenerator', octave_base_scale=4,\n"
        "                                         scales_per_octave=1, ratios=[1.0], strides=[4, 8, 16, 32]),\n"
        "                   bbox_coder=dict(type='DeltaXYWHBBoxCoder'),\n"
        "                   loss_cls=dict(type='FocalLoss', use_sigmoid=True),\n"
        "                   loss_bbox=dict(type='L1Loss')),\n"
        ")\n"
    )
    good = tmp_path / "good.py"
    good.write_text("_base_ = './_base_/model.py'\nmodel = dict(neck=dict(num_outs=4))\n")
    bad = tmp_path / "bad.py"
    bad.write_text(
        "_base_ = './_base_/model.py'\n"
        "model = dict(\n"
        "    backbone=dict(dept=18),\n"
        "    neck=dict(type='FPNN'),\n"
        ")\n"
    )
    return good, bad


def test_print_config_is_python_with_overrides(configs):
    good, _ = configs
    proc = run("print-config", str(good), "--cfg-options", "model.backbone.depth=34", "model.neck.out_channels=16")
    assert proc.returncode == 0, proc.stderr
    ns: dict = {}
    exec(proc.stdout, ns)
    assert ns["model"]["backbone"]["depth"] == 34
    assert ns["model"]["neck"] == {"type": "FPN", "out_channels": 16, "num_outs": 4}


def test_print_config_explain_shows_the_chain(configs):
    good, _ = configs
    proc = run("print-config", str(good), "--cfg-options", "model.neck.num_outs=5", "--explain", "model.neck.num_outs")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "model.neck.num_outs = 5"
    assert "_base_/model.py:4" in lines[1] and "overridden" in lines[1]
    assert "good.py:2" in lines[2]
    assert "--cfg-options model.neck.num_outs=5 (final)" in lines[3]


def test_check_config_ok_and_all_problems_at_once(configs):
    good, bad = configs
    ok = run("check-config", str(good))
    assert ok.returncode == 0, ok.stderr
    proc = run("check-config", str(bad), "--cfg-options", "model.neck.num_out=3")
    assert proc.returncode != 0
    err = proc.stderr
    assert "model.backbone.dept (set at " in err and "bad.py:3" in err and "did you mean 'depth'" in err
    assert "unknown neck type 'FPNN' at model.neck.type (set at " in err and "bad.py:4" in err
    assert "Closest installed names: FPN" in err
    assert "2 problem(s)" in err


def test_check_config_syntax_error_names_file_and_line(tmp_path):
    cfg = tmp_path / "broken.py"
    cfg.write_text("model = dict(\n    type='RetinaNet',\n    neck=dict(type='FPN'\n")
    proc = run("check-config", str(cfg))
    assert proc.returncode != 0
    assert "broken.py:3: invalid Python in config" in proc.stderr


def test_options_is_the_deprecated_name_of_cfg_options():
    cfg = str(Path(__file__).resolve().parents[2] / "configs/retinanet/retinanet_r18_fpn_shapes.py")
    proc = run("print-config", cfg, "--options", "model.neck.num_outs=3", "data.samples_per_gpu=5",
               "--explain", "data.samples_per_gpu")
    assert proc.returncode == 0, proc.stderr
    assert "data.samples_per_gpu = 5" in proc.stdout
    assert "--options is deprecated" in proc.stderr and "--cfg-options" in proc.stderr


def test_check_config_reports_a_missing_required_slot(tmp_path):
    cfg = tmp_path / "headless.py"
    cfg.write_text("model = dict(type='RetinaNet', backbone=dict(type='ResNet', depth=18))\n")
    proc = run("check-config", str(cfg))
    assert proc.returncode != 0
    assert "model.bbox_head" in proc.stderr and "needs 'bbox_head'" in proc.stderr
    assert "Traceback" not in proc.stderr
