"""End to end: ``segdet data shapes`` -> ``segdet train`` -> ``segdet test`` (with and without --aug-test)
for the PSPNet shapes config, shrunk to a few iterations on a few images."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SEGDET = str(Path(sys.executable).parent / "segdet")
CONFIG = ROOT / "configs" / "pspnet" / "pspnet_r18-d8_shapes.py"
CLASSES = ("background", "circle", "square", "triangle")


def _segdet(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run([SEGDET, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return proc


def _metrics(stdout: str) -> dict[str, float]:
    out = {}
    for line in stdout.splitlines():
        name, sep, value = line.partition(": ")
        if sep and " " not in name.strip():
            try:
                out[name.strip()] = float(value)
            except ValueError:
                pass
    return out


@pytest.mark.slow
def test_train_and_test_shapes_segmentation(tmp_path: Path) -> None:
    data = tmp_path / "shapes"
    _segdet("data", "shapes", "--out", str(data), "--seed", "0", "--num-train", "8", "--num-val", "4",
            cwd=tmp_path)
    assert len(list((data / "semantic" / "val").glob("*.png"))) == 4
    work = tmp_path / "work"
    roots = [f"data.{split}.data_root={data}/" for split in ("train", "val", "test")]
    _segdet("train", str(CONFIG), "--work-dir", str(work), "--seed", "0", "--device", "cpu",
            "--cfg-options", "runner.max_iters=4", "checkpoint_config.interval=4", "evaluation.interval=4",
            "log_config.interval=2", "data.samples_per_gpu=2", "data.workers_per_gpu=0", *roots, cwd=tmp_path)
    ckpt = work / "latest.pth"
    assert ckpt.exists() and (work / "iter_4.pth").exists()

    opts = ["--cfg-options", "data.workers_per_gpu=0", *roots]
    plain = _segdet("test", str(CONFIG), str(ckpt), "--eval", "mIoU", "--device", "cpu", *opts, cwd=tmp_path)
    aug = _segdet("test", str(CONFIG), str(ckpt), "--eval", "mIoU", "--aug-test", "--device", "cpu", *opts,
                  cwd=tmp_path)
    for proc in (plain, aug):
        metrics = _metrics(proc.stdout)
        assert 0.0 <= metrics["mIoU"] <= 1.0 and 0.0 <= metrics["aAcc"] <= 1.0
        for name in CLASSES:  # per-class IoU printed, in the table and as metrics
            assert f"IoU.{name}" in metrics
            assert name in proc.stdout.split("per-class results")[-1]
