"""The shapes Mask R-CNN config through the real CLI: ``segdet train`` then ``segdet test --eval bbox segm``."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from segdet.data.shapes import make_shapes

REPO = Path(__file__).resolve().parents[2]
SEGDET = str(Path(sys.executable).parent / "segdet")
CONFIG = REPO / "configs" / "mask_rcnn" / "mask_rcnn_r18_fpn_shapes.py"


def _segdet(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run([SEGDET, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return proc


@pytest.mark.slow
def test_mask_rcnn_shapes_trains_and_evaluates_boxes_and_masks(tmp_path):
    root = tmp_path / "shapes"
    make_shapes(root, seed=5, num_train=8, num_val=4, img_size=64)
    split = {s: dict(ann_file=str(root / "annotations" / f"instances_{s}.json"),
                     img_prefix=str(root / "images" / s) + "/") for s in ("train", "val")}
    cfg = tmp_path / "mask_rcnn_tiny.py"
    cfg.write_text(
        f"_base_ = {str(CONFIG)!r}\n"
        f"data = dict(samples_per_gpu=4, workers_per_gpu=0, train=dict(**{split['train']!r}),\n"
        f"            val=dict(**{split['val']!r}), test=dict(**{split['val']!r}))\n"
        "lr_config = dict(warmup_iters=2)\n"
        "runner = dict(type='EpochBasedRunner', max_epochs=2)\n"
        "checkpoint_config = dict(interval=2)\n"
        "log_config = dict(interval=1)\n"
        "evaluation = dict(interval=2, metric=['bbox', 'segm'])\n")
    work = tmp_path / "work"
    _segdet("train", str(cfg), "--work-dir", str(work), "--seed", "0", cwd=tmp_path)
    log = [json.loads(line) for p in work.glob("*.log.json") for line in p.read_text().splitlines() if line.strip()]
    trained = [r for r in log if r.get("mode") == "train"]
    assert trained and {"loss_rpn_cls", "loss_rpn_bbox", "loss_cls", "loss_bbox", "loss_mask"} <= set(trained[-1])
    assert any("segm_mAP_50" in r for r in log)  # the EvalHook evaluated masks

    out = tmp_path / "results.pkl"
    test = _segdet("test", str(cfg), str(work / "latest.pth"), "--eval", "bbox", "segm", "--out", str(out),
                   cwd=tmp_path)
    text = test.stdout + test.stderr
    for key in ("bbox_mAP_50", "segm_mAP_50"):
        assert key in text
    assert out.is_file() and out.stat().st_size > 0
