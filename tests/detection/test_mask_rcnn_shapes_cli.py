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


@pytest.mark.slow
def test_swin_mask_rcnn_config_trains_and_tests_on_shapes(tmp_path):
    """MMDetection's Swin-T Mask R-CNN config, unchanged except through --cfg-options: no pretrained
    download, 3 classes, shapes files, 64-px images (window 7 pads the 16x16 patch grid)."""
    root = tmp_path / "shapes"
    make_shapes(root, seed=1, num_train=4, num_val=2, img_size=64)
    config = str(REPO / "configs" / "swin" / "mask_rcnn_swin-t-p4-w7_fpn_1x_coco.py")
    classes = "data.{}.classes=('circle','square','triangle')"
    model = ["model.backbone.init_cfg=None", "pretrained=None",
             "model.roi_head.bbox_head.num_classes=3", "model.roi_head.mask_head.num_classes=3"]
    test_data = [f"data.test.ann_file={root}/annotations/instances_val.json",
                 f"data.test.img_prefix={root}/images/val/", classes.format("test"),
                 "data.test.pipeline.1.img_scale=(64,64)"]
    train_data = [f"data.train.ann_file={root}/annotations/instances_train.json",
                  f"data.train.img_prefix={root}/images/train/", classes.format("train"),
                  "data.train.pipeline.2.img_scale=(64,64)",
                  f"data.val.ann_file={root}/annotations/instances_val.json",
                  f"data.val.img_prefix={root}/images/val/", classes.format("val"),
                  "data.val.pipeline.1.img_scale=(64,64)",
                  "data.samples_per_gpu=2", "data.workers_per_gpu=0"]
    schedule = ["runner.max_epochs=1", "lr_config.warmup_iters=1", "log_config.interval=1"]
    work = tmp_path / "work"
    _segdet("train", config, "--work-dir", str(work), "--seed", "0", "--cfg-options",
            *model, *train_data, *test_data, *schedule, cwd=tmp_path)
    log = [json.loads(line) for p in work.glob("*.log.json") for line in p.read_text().splitlines() if line.strip()]
    trained = [r for r in log if r.get("mode") == "train"]
    assert len(trained) == 2 and "loss_mask" in trained[-1]  # 4 images, batch 2
    test = _segdet("test", config, str(work / "latest.pth"), "--eval", "bbox", "segm", "--cfg-options",
                   *model, *test_data, cwd=tmp_path)
    text = test.stdout + test.stderr
    assert "bbox_mAP_50" in text and "segm_mAP_50" in text
