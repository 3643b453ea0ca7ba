"""``segdet analyze-logs``: curves and train time from the ``*.log.json`` a real run wrote."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("matplotlib")

SEGDET = str(Path(sys.executable).parent / "segdet")

TOY_CFG = textwrap.dedent("""
    custom_imports = dict(imports=['segdet.testing.toy_detection'])
    model = dict(type='ToyDetector', num_classes=3, width=8)
    data = dict(samples_per_gpu=2, workers_per_gpu=0,
                train=dict(type='ToyDataset', num=8, seed=0),
                val=dict(type='ToyDataset', num=4, seed=1),
                test=dict(type='ToyDataset', num=4, seed=1))
    optimizer = dict(type='SGD', lr=0.05, momentum=0.9)
    optimizer_config = dict()
    lr_config = dict(policy='fixed')
    runner = dict(type='EpochBasedRunner', max_epochs=2)
    checkpoint_config = dict(interval=2)
    log_config = dict(interval=1, hooks=[dict(type='TextLoggerHook')])
    evaluation = dict(interval=1, metric='bbox')
    workflow = [('train', 1)]
""")


def _segdet(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run([SEGDET, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    if check:
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return proc


@pytest.fixture(scope="module")
def run_log(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("analyze_logs")
    (tmp / "toy.py").write_text(TOY_CFG)
    _segdet("train", "toy.py", "--work-dir", "work", "--device", "cpu", "--seed", "0", cwd=tmp)
    (log,) = (tmp / "work").glob("*.log.json")
    return log


def _iter_run(path: Path) -> Path:
    lines = [{"exp_name": "it", "config": "runner = dict(type='IterBasedRunner', max_iters=30)\n"}]
    for it in (10, 20, 30):
        lines.append({"mode": "train", "epoch": 1, "iter": it, "lr": 0.01, "time": 0.1 * it, "loss": 1.0 / it})
    lines.append({"mode": "val", "epoch": 1, "iter": 4, "mIoU": 0.5})  # iter: images evaluated
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


@pytest.mark.slow
def test_plot_curve_two_runs_in_one_png(run_log, tmp_path):
    other = _iter_run(tmp_path / "iter_run.log.json")
    out = tmp_path / "figs" / "curve.png"
    proc = _segdet("analyze-logs", "plot-curve", str(run_log), str(run_log), "--keys", "loss_cls", "bbox_mAP",
                   "--legend", "a_cls", "a_map", "b_cls", "b_map", "--title", "toy", "--out", str(out), cwd=tmp_path)
    assert str(out) in proc.stdout
    with Image.open(out) as img:
        assert img.format == "PNG" and img.size == (800, 500)
        pixels = np.asarray(img.convert("RGB"))
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 20  # lines, text and legend drawn, not blank

    proc = _segdet("analyze-logs", "plot-curve", str(other), "--out", str(tmp_path / "it.png"), cwd=tmp_path)
    with Image.open(tmp_path / "it.png") as img:
        assert img.size == (800, 500)


@pytest.mark.slow
def test_curve_axes_epochs_and_iters(run_log, tmp_path):
    from segdet_cli.commands.analyze_logs import curve, load_json_log

    log = load_json_log(str(run_log))
    assert log.by_epoch
    xs, ys, is_eval = curve(log, "loss_cls")
    # 8 images, 2 per batch: 4 iterations per epoch, every one logged
    assert xs == [0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0] and not is_eval and len(ys) == 8
    xs, ys, is_eval = curve(log, "bbox_mAP")
    assert xs == [1.0, 2.0] and is_eval and all(0.0 <= y <= 1.0 for y in ys)

    it = load_json_log(str(_iter_run(tmp_path / "i.log.json")))
    assert not it.by_epoch
    assert curve(it, "loss") == ([10.0, 20.0, 30.0], [0.1, 0.05, 1.0 / 30], False)
    assert curve(it, "mIoU") == ([30.0], [0.5], True)


@pytest.mark.slow
def test_cal_train_time_matches_the_log(run_log, tmp_path):
    proc = _segdet("analyze-logs", "cal-train-time", str(run_log), cwd=tmp_path)
    entries = [json.loads(line) for line in run_log.read_text().splitlines()[1:]]
    times = [[e["time"] for e in entries if e.get("mode") == "train" and e["epoch"] == ep][1:] for ep in (1, 2)]
    expected = float(np.mean(np.concatenate(times)))
    line = next(x for x in proc.stdout.splitlines() if x.startswith("average iter time:"))
    assert abs(float(line.split()[3]) - expected) < 1e-4
    assert "slowest epoch" in proc.stdout and "fastest epoch" in proc.stdout


def test_analyze_logs_errors_name_the_file(tmp_path):
    proc = _segdet("analyze-logs", "plot-curve", str(tmp_path / "none.log.json"), "--out", "x.png",
                   cwd=tmp_path, check=False)
    assert proc.returncode != 0 and "none.log.json" in proc.stderr and "no such log file" in proc.stderr
    text_log = tmp_path / "20240101_000000.log"
    text_log.write_text("2024-01-01 00:00:00,000 - segdet - INFO - Epoch [1][2/4]\n")
    proc = _segdet("analyze-logs", "cal-train-time", str(text_log), cwd=tmp_path, check=False)
    assert proc.returncode != 0 and "20240101_000000.log, line 1: not JSON" in proc.stderr
    assert "use *.log.json" in proc.stderr
    run = _iter_run(tmp_path / "r.log.json")
    proc = _segdet("analyze-logs", "plot-curve", str(run), "--keys", "bbox_mAP", "--out", "x.png",
                   cwd=tmp_path, check=False)
    assert proc.returncode != 0 and "has no 'bbox_mAP'" in proc.stderr and "mIoU" in proc.stderr
    proc = _segdet("analyze-logs", "plot-curve", str(run), "--keys", "loss", "--legend", "a", "b", "--out", "x.png",
                   cwd=tmp_path, check=False)
    assert proc.returncode != 0 and "--legend has 2 names" in proc.stderr
