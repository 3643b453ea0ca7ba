"""Fine-tuning as MMCV loads: tensors whose name and shape match load, the others are skipped with a
table; ``segdet test`` refuses a checkpoint that fits (almost) none of the model."""
from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from torch import nn

from segdet.engine.checkpoint import load_checkpoint, load_weights, save_checkpoint
from segdet.errors import CheckpointError

ROOT = Path(__file__).resolve().parents[2]
SEGDET = str(Path(sys.executable).parent / "segdet")


class _Det(nn.Module):
    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8))
        self.cls = nn.Conv2d(8, num_classes, 1)
        self.reg = nn.Conv2d(8, 4, 1)


def _save(model: nn.Module, path: Path) -> str:
    save_checkpoint(model, str(path), meta=dict(CLASSES=("a", "b", "c")))
    return str(path)


def test_other_number_of_classes_loads_the_rest_and_tables_the_skipped(tmp_path, caplog):
    torch.manual_seed(0)
    src = _Det(num_classes=80)
    path = _save(src, tmp_path / "coco.pth")
    dst = _Det(num_classes=3)
    cls_before = dst.cls.weight.detach().clone()
    with caplog.at_level(logging.WARNING, logger="segdet"):
        ckpt, report = load_weights(dst, path, logger=logging.getLogger("segdet"))
    assert ckpt["meta"]["CLASSES"] == ("a", "b", "c")
    # every tensor of matching name and shape came from the checkpoint ...
    for name in ("backbone.0.weight", "backbone.1.running_mean", "reg.weight", "reg.bias"):
        assert torch.equal(dst.state_dict()[name], src.state_dict()[name]), name
    # ... the classifier kept its initial values
    assert torch.equal(dst.cls.weight, cls_before)
    assert report.mismatched == (("cls.weight", (80, 8, 1, 1), (3, 8, 1, 1)), ("cls.bias", (80,), (3,)))
    assert report.missing == () and report.unexpected == ()
    assert len(report.loaded) == len(dst.state_dict()) - 2
    text = caplog.text
    assert f"{len(report.loaded)} of {len(dst.state_dict())} model tensors loaded, 2 skipped" in text
    row = next(line for line in text.splitlines() if line.strip().startswith("cls.weight"))
    assert row.split() == ["cls.weight", "(80,", "8,", "1,", "1)", "(3,", "8,", "1,", "1)"]
    assert "checkpoint shape" in text and "model shape" in text


def test_missing_and_unexpected_have_their_own_tables(tmp_path, caplog):
    src = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 3))
    path = _save(src, tmp_path / "w.pth")
    dst = nn.Sequential(nn.Linear(2, 3), nn.Identity(), nn.Linear(3, 1))
    with caplog.at_level(logging.WARNING, logger="segdet"):
        _, report = load_weights(dst, path, logger=logging.getLogger("segdet"))
    assert report.missing == ("2.weight", "2.bias")
    assert report.unexpected == ("1.weight", "1.bias")
    assert "missing in the checkpoint (left as initialised):" in caplog.text
    assert "unexpected in the checkpoint (ignored):" in caplog.text
    assert torch.equal(dst[0].weight, src[0].weight)


def test_strict_resume_and_threshold_refuse(tmp_path):
    path = _save(_Det(num_classes=80), tmp_path / "coco.pth")
    with pytest.raises(CheckpointError, match=r"cls.weight +\(80, 8, 1, 1\) +\(3, 8, 1, 1\)"):
        load_checkpoint(_Det(num_classes=3), path, strict=True)
    with pytest.raises(CheckpointError, match="weights do not fit the model"):
        load_checkpoint(_Det(num_classes=3), path, allow_shape_mismatch=False)
    other = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 2))
    with pytest.raises(CheckpointError, match=r"coco.pth' fits only 0 of the model's 4 tensors"):
        load_checkpoint(other, path, min_loaded_fraction=0.5)
    load_checkpoint(_Det(num_classes=3), path, min_loaded_fraction=0.5)  # 8 of 10 fit: fine


TOY_CFG = textwrap.dedent("""
    custom_imports = dict(imports=['segdet.testing.toy_detection'])
    model = dict(type='ToyDetector', num_classes=3, width=8)
    data = dict(samples_per_gpu=2, workers_per_gpu=0,
                train=dict(type='ToyDataset', num=4, seed=0),
                val=dict(type='ToyDataset', num=2, seed=1),
                test=dict(type='ToyDataset', num=2, seed=1))
    optimizer = dict(type='SGD', lr=0.01)
    optimizer_config = dict()
    lr_config = dict(policy='fixed')
    runner = dict(type='EpochBasedRunner', max_epochs=1)
    checkpoint_config = dict(interval=1)
    log_config = dict(interval=1, hooks=[dict(type='TextLoggerHook')])
    evaluation = dict(interval=1, metric='bbox')
    workflow = [('train', 1)]
""")


def _segdet(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run([SEGDET, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def test_segdet_train_load_from_other_classes_and_test_refuses_foreign_checkpoint(tmp_path):
    cfg = tmp_path / "toy.py"
    cfg.write_text(TOY_CFG)
    first = _segdet("train", str(cfg), "--work-dir", str(tmp_path / "a"), "--device", "cpu", cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    tuned = _segdet("train", str(cfg), "--work-dir", str(tmp_path / "b"), "--device", "cpu",
                    "--cfg-options", "model.num_classes=5", f"load_from={tmp_path / 'a' / 'epoch_1.pth'}",
                    cwd=tmp_path)
    out = tuned.stdout + tuned.stderr
    assert tuned.returncode == 0, out[-3000:]
    # ToyDetector's head predicts num_classes logits + 4 box numbers from width 8
    assert "skipped, shape differs" in out
    row = next(line for line in out.splitlines() if line.strip().startswith("bbox_head.fc.weight"))
    assert "(7, 8)" in row and "(9, 8)" in row
    a = torch.load(tmp_path / "a" / "epoch_1.pth", weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "b" / "epoch_1.pth", weights_only=True)["state_dict"]
    assert b["bbox_head.fc.weight"].shape == (9, 8)
    assert torch.equal(a["bn.num_batches_tracked"] + 2, b["bn.num_batches_tracked"])  # continued from a

    foreign = tmp_path / "foreign.pth"
    torch.save({"state_dict": nn.Sequential(nn.Linear(2, 2)).state_dict()}, foreign)
    proc = _segdet("test", str(cfg), str(foreign), "--eval", "bbox", cwd=tmp_path)
    assert proc.returncode != 0
    assert "foreign.pth' fits only 0 of the model's" in proc.stderr
    assert "bbox_mAP" not in proc.stdout  # nothing was evaluated
