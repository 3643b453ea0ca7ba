"""MMDetection 2.x / MMSegmentation 0.x train/test flags, run through the real ``segdet`` command:
device selection (--gpus, --gpu-ids, --gpu-id), --launcher slurm|mpi, --show, --show-dir with
--opacity, --fuse-conv-bn, --tmpdir/--gpu-collect, --aug-test of segmentors."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
SEGDET = str(Path(sys.executable).parent / "segdet")
SEG_CONFIG = ROOT / "configs" / "pspnet" / "pspnet_r18-d8_shapes.py"

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


def _segdet(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "OMPI_"))}
    base.update(OMP_NUM_THREADS="1", **(env or {}))
    return subprocess.run([SEGDET, *args], cwd=cwd, env=base, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("toy")
    cfg = tmp / "toy.py"
    cfg.write_text(TOY_CFG)
    from segdet.engine.checkpoint import save_checkpoint
    from segdet.testing.toy_detection import ToyDetector

    ckpt = tmp / "toy.pth"
    save_checkpoint(ToyDetector(num_classes=3, width=8), str(ckpt))
    return cfg, ckpt


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the machine-without-CUDA messages")
@pytest.mark.parametrize("flags, deprecation", [
    (["--gpu-id", "1"], None),
    (["--gpus", "2"], "--gpus is deprecated"),
    (["--gpu-ids", "0", "1"], "--gpu-ids is deprecated, use --gpu-id"),
])
def test_choosing_a_gpu_without_cuda_is_a_clear_error(toy, tmp_path, flags, deprecation):
    cfg, _ = toy
    proc = _segdet("train", str(cfg), "--work-dir", str(tmp_path / "w"), *flags, cwd=tmp_path)
    assert proc.returncode != 0
    assert "torch sees no CUDA device on this machine" in proc.stderr
    assert "Traceback" not in proc.stderr
    if deprecation:
        assert deprecation in proc.stderr
    assert not (tmp_path / "w" / "epoch_1.pth").exists()


def test_test_command_flags(toy, tmp_path):
    cfg, ckpt = toy
    show = _segdet("test", str(cfg), str(ckpt), "--show", "--eval", "bbox", cwd=tmp_path)
    assert show.returncode != 0 and "--show-dir DIR" in show.stderr
    if not torch.cuda.is_available():
        gpu = _segdet("test", str(cfg), str(ckpt), "--gpu-id", "0", "--eval", "bbox", cwd=tmp_path)
        assert gpu.returncode != 0 and "--gpu-id chooses CUDA device 0" in gpu.stderr
    slurm = _segdet("test", str(cfg), str(ckpt), "--launcher", "slurm", "--eval", "bbox", cwd=tmp_path)
    assert slurm.returncode != 0 and "--launcher slurm needs $SLURM_PROCID" in slurm.stderr
    assert "Traceback" not in slurm.stderr
    # --tmpdir / --gpu-collect / --fuse-conv-bn / --eval-options are accepted and the run completes
    ok = _segdet("test", str(cfg), str(ckpt), "--eval", "bbox", "--tmpdir", str(tmp_path / "t"), "--gpu-collect",
                 "--fuse-conv-bn", "--eval-options", "classwise=True", "--device", "cpu", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr[-3000:]
    assert "bbox_mAP:" in ok.stdout


def test_train_under_slurm_environment_one_task(toy, tmp_path):
    """`srun -n 1 segdet train CFG --launcher slurm`, with the variables srun sets."""
    cfg, _ = toy
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = str(s.getsockname()[1])
    proc = _segdet("train", str(cfg), "--work-dir", str(tmp_path / "w"), "--launcher", "slurm", "--device", "cpu",
                   "--seed", "3", "--diff-seed", cwd=tmp_path,
                   env=dict(SLURM_PROCID="0", SLURM_NTASKS="1", SLURM_LOCALID="0", SLURM_NODELIST="localhost",
                            MASTER_PORT=port))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "w" / "epoch_1.pth").exists()
    log = next((tmp_path / "w").glob("*.log")).read_text()
    assert "Distributed training: True" in log and "Set random seed to 3" in log  # rank 0: seed + 0


def test_fuse_conv_bn_keeps_the_output():
    from segdet import Config
    from segdet.models.builder import build_model
    from segdet_cli.commands._mmcompat import fuse_conv_bn

    cfg = Config.fromfile(str(SEG_CONFIG))
    torch.manual_seed(0)
    model = build_model(cfg.to_dict()["model"] if hasattr(cfg, "to_dict") else dict(cfg["model"])).eval()
    for m in model.modules():  # non-trivial statistics
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        before = model.backbone(x)
        fused = fuse_conv_bn(model)
        after = model.backbone(x)
    assert fused > 5
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in model.backbone.modules()) == 0
    for a, b in zip(before, after):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


@pytest.mark.slow
def test_segmentor_aug_test_ratios_show_dir_and_opacity(tmp_path):
    data = tmp_path / "shapes"
    made = _segdet("data", "shapes", "--out", str(data), "--seed", "0", "--num-train", "2", "--num-val", "2",
                   cwd=tmp_path)
    assert made.returncode == 0, made.stderr[-2000:]
    roots = [f"data.{split}.data_root={data}/" for split in ("train", "val", "test")]
    opts = ["--cfg-options", "data.workers_per_gpu=0", *roots]

    from segdet_cli.commands._common import load_config
    from segdet_cli.commands.test import SEG_AUG_RATIOS, _build_test_loader

    loader = _build_test_loader(load_config(str(SEG_CONFIG), opts[1:]), True, False)
    (aug,) = [t for t in loader.dataset.pipeline.transforms if type(t).__name__ == "MultiScaleFlipAug"]
    assert list(aug.img_ratios) == [0.5, 0.75, 1.0, 1.25, 1.5, 1.75] == list(SEG_AUG_RATIOS) and aug.flip
    sample = loader.dataset[0]
    assert len(sample["img"]) == 12  # 6 ratios x (plain, flipped)
    assert sorted({tuple(i.shape[-2:]) for i in sample["img"]})[0] < sorted({tuple(i.shape[-2:]) for i in sample["img"]})[-1]

    from segdet.engine.checkpoint import save_checkpoint
    from segdet.models.builder import build_model

    cfg = load_config(str(SEG_CONFIG))
    torch.manual_seed(0)
    ckpt = tmp_path / "random.pth"
    save_checkpoint(build_model(cfg.to_dict()["model"] if hasattr(cfg, "to_dict") else dict(cfg["model"])), str(ckpt))
    show_dir = tmp_path / "show"
    proc = _segdet("test", str(SEG_CONFIG), str(ckpt), "--aug-test", "--show-dir", str(show_dir), "--opacity", "0.8",
                   "--out", str(tmp_path / "res.pkl"), "--device", "cpu", *opts, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = torch.load((tmp_path / "res.pkl"), weights_only=True)
    dataset = loader.dataset
    name = dataset.img_infos[0]["filename"]
    original = cv2.imread(str(Path(dataset.img_dir) / name)).astype(np.float64)
    drawn = cv2.imread(str(show_dir / os.path.basename(name))).astype(np.float64)
    seg = np.asarray(results[0]).astype(np.int64)
    palette = np.asarray(dataset.PALETTE, dtype=np.float64)[:, ::-1]
    expected = original * 0.2 + palette[seg] * 0.8
    assert np.abs(drawn - expected).max() <= 1.0
