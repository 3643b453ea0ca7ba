"""End to end: real ``segdet train`` / ``segdet test`` subprocesses on a tiny registered model."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
TOY_DIR = ROOT / "tests" / "engine"
SEGDET = str(Path(sys.executable).parent / "segdet")

TOY_CFG = textwrap.dedent("""
    custom_imports = dict(imports=['segdet.testing.toy_detection'])
    model = dict(type='ToyDetector', num_classes=3, width=8)
    data = dict(samples_per_gpu=2, workers_per_gpu=0,
                train=dict(type='ToyDataset', num=8, seed=0),
                val=dict(type='ToyDataset', num=4, seed=1),
                test=dict(type='ToyDataset', num=4, seed=1))
    optimizer = dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4)
    optimizer_config = dict(grad_clip=dict(max_norm=10, norm_type=2))
    lr_config = dict(policy='step', step=[2], warmup='linear', warmup_iters=2, warmup_ratio=0.1)
    runner = dict(type='EpochBasedRunner', max_epochs=2)
    checkpoint_config = dict(interval=1)
    log_config = dict(interval=2, hooks=[dict(type='TextLoggerHook')])
    evaluation = dict(interval=1, metric='bbox', save_best='auto')
    custom_hooks = []
    workflow = [('train', 1)]
""")


def _segdet(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(TOY_DIR), OMP_NUM_THREADS="1")
    proc = subprocess.run([SEGDET, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    if check:
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return proc


def _write_cfg(tmp_path: Path, name: str = "toy_det.py", extra: str = "") -> Path:
    path = tmp_path / name
    path.write_text(TOY_CFG + extra)
    return path


def _json_log(work: Path) -> list[dict]:
    (log,) = work.glob("*.log.json")
    return [json.loads(line) for line in log.read_text().splitlines()]


@pytest.mark.slow
def test_train_resume_test_cycle(tmp_path):
    cfg = _write_cfg(tmp_path, extra="log_config = dict(interval=2, hooks=[dict(type='TextLoggerHook'), "
                                     "dict(type='TensorboardLoggerHook')])\n")
    work = tmp_path / "work"
    _segdet("train", str(cfg), "--work-dir", str(work), "--seed", "0", "--device", "cpu",
            "--tags", "exp1", "tiny", "--cfg-options", "runner.max_epochs=2", "data.samples_per_gpu=2",
            cwd=tmp_path)
    names = {p.name for p in work.iterdir()}
    assert {"epoch_1.pth", "epoch_2.pth", "latest.pth", "toy_det.py", "env.json", "tf_logs"} <= names
    assert any(n.startswith("best_bbox_mAP_epoch_") for n in names)
    assert any(n.endswith(".log") for n in names)
    env = json.loads((work / "env.json").read_text())
    assert env["segdet"] and env["git_hash"] and "segdet" in env["plugins"] and env["tags"] == ["exp1", "tiny"]
    assert set(env["plugins_used"]) == {"segdet", "segdet-hook-tensorboard"}
    lines = _json_log(work)
    assert lines[0]["seed"] == 0 and lines[0]["tags"] == ["exp1", "tiny"]
    assert [(x["epoch"], x["iter"]) for x in lines if x.get("mode") == "train"] == [(1, 2), (1, 4), (2, 2), (2, 4)]

    proc = _segdet("train", str(cfg), "--work-dir", str(work), "--resume-from", str(work / "epoch_1.pth"),
                   "--cfg-options", "runner.max_epochs=3", cwd=tmp_path)
    assert "resumed epoch 1, iter 4" in proc.stdout
    assert (work / "epoch_3.pth").exists()

    out = tmp_path / "res.pkl"
    proc = _segdet("test", str(cfg), str(work / "latest.pth"), "--eval", "bbox", "--out", str(out),
                   "--device", "cpu", cwd=tmp_path)
    assert "bbox_mAP:" in proc.stdout and "bbox_mAP_50:" in proc.stdout
    results = torch.load(out, weights_only=True)
    assert len(results) == 4 and set(results[0]) == {"bboxes", "scores", "labels"}


@pytest.mark.slow
def test_auto_resume_and_default_work_dir(tmp_path):
    cfg = _write_cfg(tmp_path, "my_toy.py")
    _segdet("train", str(cfg), "--no-validate", "--cfg-options", "runner.max_epochs=1", cwd=tmp_path)
    work = tmp_path / "work_dirs" / "my_toy"
    assert (work / "epoch_1.pth").exists() and (work / "my_toy.py").exists()
    proc = _segdet("train", str(cfg), "--no-validate", "--auto-resume", "--cfg-options", "runner.max_epochs=2",
                   cwd=tmp_path)
    assert "resumed epoch 1" in proc.stdout and (work / "epoch_2.pth").exists()


@pytest.mark.slow
def test_debug_runs_two_short_epochs(tmp_path):
    cfg = _write_cfg(tmp_path, extra="data['train']['num'] = 40\n")
    work = tmp_path / "dbg"
    _segdet("train", str(cfg), "--debug", "--work-dir", str(work), cwd=tmp_path)
    train = [(x["epoch"], x["iter"]) for x in _json_log(work) if x.get("mode") == "train"]
    assert train == [(1, 1), (1, 2), (1, 3), (2, 1), (2, 2), (2, 3)]
    assert [x["epoch"] for x in _json_log(work) if x.get("mode") == "val"] == [1, 2]


@pytest.mark.slow
def test_config_problems_reported_before_building(tmp_path):
    cfg = _write_cfg(tmp_path, extra="model['type'] = 'ToyDetektor'\noptimizer['momentun'] = 0.9\n")
    proc = _segdet("train", str(cfg), "--work-dir", str(tmp_path / "w"), cwd=tmp_path, check=False)
    assert proc.returncode != 0
    assert "ToyDetektor" in proc.stderr and "ToyDetector" in proc.stderr
    assert not (tmp_path / "w").exists()

    cfg = _write_cfg(tmp_path, "missing.py",
                     extra="data['train']['ann_file'] = 'data/shapes/annotations/train.json'\n")
    proc = _segdet("train", str(cfg), "--work-dir", str(tmp_path / "w2"), cwd=tmp_path, check=False)
    assert proc.returncode != 0
    assert "data/shapes/annotations/train.json" in proc.stderr
    assert "segdet data shapes --out data/shapes" in proc.stderr


@pytest.mark.slow
def test_non_finite_loss_exits_with_clear_message(tmp_path):
    cfg = _write_cfg(tmp_path, extra="model['nan_at_iter'] = 2\n")
    proc = _segdet("train", str(cfg), "--work-dir", str(tmp_path / "w"), cwd=tmp_path, check=False)
    assert proc.returncode != 0
    assert "NonFiniteLossError" in proc.stderr and "iteration 2" in proc.stderr and "loss_bbox" in proc.stderr
    assert not list((tmp_path / "w").glob("*.pth"))


@pytest.mark.slow
def test_aug_test_uses_flip_and_scales(tmp_path):
    tta = ("dict(type='MultiScaleFlipAug', img_scale=(32, 32), flip=False, "
           "transforms=[dict(type='Collect', keys=['img'])])")
    cfg = _write_cfg(tmp_path, extra=f"data['test']['pipeline'] = [{tta}]\n")
    work = tmp_path / "work"
    _segdet("train", str(cfg), "--work-dir", str(work), "--no-validate", "--cfg-options", "runner.max_epochs=1",
            cwd=tmp_path)
    plain = _segdet("test", str(cfg), str(work / "latest.pth"), "--eval", "bbox", "--out",
                    str(tmp_path / "a.pkl"), cwd=tmp_path)
    aug = _segdet("test", str(cfg), str(work / "latest.pth"), "--eval", "bbox", "--aug-test", "--out",
                  str(tmp_path / "b.pkl"), cwd=tmp_path)
    assert "bbox_mAP" in plain.stdout and "bbox_mAP" in aug.stdout
    a = torch.load((tmp_path / "a.pkl"), weights_only=True)
    b = torch.load((tmp_path / "b.pkl"), weights_only=True)
    assert len(a) == len(b) == 4
    assert any(not (x["bboxes"] == y["bboxes"]).all() for x, y in zip(a, b))  # flip changes the merge


@pytest.mark.slow
def test_train_under_torchrun_two_cpu_processes(tmp_path):
    cfg = _write_cfg(tmp_path, extra="model['type'] = 'ToyDetector'\n")
    work = tmp_path / "ddp"
    env = dict(os.environ, PYTHONPATH=str(TOY_DIR), OMP_NUM_THREADS="1")
    # --standalone: torchrun picks a free port itself, so no other process can take it in between
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           SEGDET, "train", str(cfg), "--launcher", "pytorch", "--device", "cpu", "--work-dir", str(work), "--seed", "0",
           "--cfg-options", "runner.max_epochs=1"]
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "Distributed training: True" in proc.stdout
    assert sorted(p.name for p in work.glob("*.pth")) == ["best_bbox_mAP_epoch_1.pth", "epoch_1.pth", "latest.pth"]
    train = [x for x in _json_log(work) if x.get("mode") == "train"]
    assert [x["iter"] for x in train] == [2]  # 8 images, 2 ranks x 2 per batch: 2 iterations per epoch


_TINY_RETINA = ["model.backbone.base_channels=8", "model.neck.in_channels=[16,32,64]", "model.neck.out_channels=16",
                "model.bbox_head.in_channels=16", "model.bbox_head.feat_channels=16",
                "model.bbox_head.norm_cfg.num_groups=4", "data.samples_per_gpu=2", "data.workers_per_gpu=0"]


@pytest.mark.slow
def test_real_retinanet_on_shapes(tmp_path):
    cfg = str(ROOT / "configs" / "retinanet" / "retinanet_r18_fpn_shapes.py")
    work = tmp_path / "work_dirs" / "retinanet_r18_fpn_shapes"
    proc = _segdet("train", cfg, "--device", "cpu", "--cfg-options", *_TINY_RETINA, cwd=tmp_path, check=False)
    assert proc.returncode != 0 and "segdet data shapes --out data/shapes" in proc.stderr
    _segdet("data", "shapes", "--out", "data/shapes", "--num-train", "8", "--num-val", "4", "--img-size", "64",
            cwd=tmp_path)

    _segdet("train", cfg, "--debug", "--seed", "0", "--device", "cpu", "--cfg-options", *_TINY_RETINA,
            cwd=tmp_path)
    assert {"epoch_1.pth", "epoch_2.pth", "latest.pth", "retinanet_r18_fpn_shapes.py", "env.json"} <= {
        p.name for p in work.iterdir()}
    lines = _json_log(work)
    assert [x["epoch"] for x in lines if x.get("mode") == "val"] == [1, 2]
    assert all("loss_cls" in x and "loss_bbox" in x for x in lines if x.get("mode") == "train")

    proc = _segdet("train", cfg, "--auto-resume", "--no-validate", "--device", "cpu", "--cfg-options",
                   *_TINY_RETINA, "runner.max_epochs=3", cwd=tmp_path)
    assert "resumed epoch 2" in proc.stdout and (work / "epoch_3.pth").exists()

    for extra in ([], ["--aug-test"]):
        out = tmp_path / f"res{len(extra)}.pkl"
        proc = _segdet("test", cfg, str(work / "latest.pth"), "--eval", "bbox", "--out", str(out),
                       "--show-dir", str(tmp_path / f"show{len(extra)}"), "--device", "cpu", *extra,
                       "--cfg-options", *_TINY_RETINA, cwd=tmp_path)
        assert "bbox_mAP:" in proc.stdout
        results = torch.load(out, weights_only=True)
        assert len(results) == 4 and results[0]["bboxes"].shape[-1] == 4
        assert len(list((tmp_path / f"show{len(extra)}").glob("*.png"))) == 4
