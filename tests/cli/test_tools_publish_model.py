"""``segdet publish-model``: a real training checkpoint loses its training state and gains a hash suffix."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

SEGDET = str(Path(sys.executable).parent / "segdet")

TOY_CFG = textwrap.dedent("""
    custom_imports = dict(imports=['segdet.testing.toy_detection'])
    model = dict(type='ToyDetector', num_classes=3, width=8)
    data = dict(samples_per_gpu=2, workers_per_gpu=0,
                train=dict(type='ToyDataset', num=4, seed=0),
                val=dict(type='ToyDataset', num=2, seed=1),
                test=dict(type='ToyDataset', num=2, seed=1))
    optimizer = dict(type='SGD', lr=0.05, momentum=0.9)
    optimizer_config = dict()
    lr_config = dict(policy='fixed')
    runner = dict(type='EpochBasedRunner', max_epochs=1)
    checkpoint_config = dict(interval=1)
    log_config = dict(interval=1, hooks=[dict(type='TextLoggerHook')])
    workflow = [('train', 1)]
""")


def _segdet(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run([SEGDET, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    if check:
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return proc


@pytest.mark.slow
def test_publish_model_strips_training_state_and_appends_sha(tmp_path):
    cfg = tmp_path / "toy.py"
    cfg.write_text(TOY_CFG)
    work = tmp_path / "work"
    _segdet("train", str(cfg), "--work-dir", str(work), "--no-validate", "--device", "cpu", cwd=tmp_path)
    src = torch.load(work / "epoch_1.pth", weights_only=True)
    assert "optimizer" in src  # the test means something only if there was state to drop

    proc = _segdet("publish-model", str(work / "epoch_1.pth"), str(tmp_path / "toy.pth"), cwd=tmp_path)
    (out,) = tmp_path.glob("toy-*.pth")
    assert not (tmp_path / "toy.pth").exists()
    sha = hashlib.sha256(out.read_bytes()).hexdigest()
    assert out.name == f"toy-{sha[:8]}.pth" and str(out.name) in proc.stdout
    assert "optimizer" in proc.stdout  # listed as dropped

    pub = torch.load(out, weights_only=True)
    assert set(pub) == {"meta", "state_dict"}
    assert pub["meta"]["CLASSES"] == src["meta"]["CLASSES"]
    assert pub["state_dict"].keys() == src["state_dict"].keys()
    for key, val in src["state_dict"].items():
        assert torch.equal(pub["state_dict"][key], val)


def test_publish_model_errors_name_the_file(tmp_path):
    proc = _segdet("publish-model", str(tmp_path / "nope.pth"), str(tmp_path / "o.pth"), cwd=tmp_path, check=False)
    assert proc.returncode != 0 and "nope.pth" in proc.stderr and "no such checkpoint" in proc.stderr

    bad = tmp_path / "notes.pth"
    bad.write_text("not a checkpoint")
    proc = _segdet("publish-model", str(bad), str(tmp_path / "o.pth"), cwd=tmp_path, check=False)
    assert proc.returncode != 0 and "notes.pth" in proc.stderr
    assert not list(tmp_path.glob("o*.pth"))
