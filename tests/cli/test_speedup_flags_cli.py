"""``segdet test --fuse-conv-bn --channels-last --compile`` and ``segdet train --channels-last
--compile`` end to end, through the real ``segdet`` command, on a tiny RetinaNet (ResNet-18 of
base width 8) and a 64-px shapes set: the flags change the speed, never the results."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
SEGDET = str(Path(sys.executable).parent / "segdet")

TINY_CFG = textwrap.dedent("""
    _base_ = ['{root}/configs/retinanet/retinanet_r18_fpn_shapes.py']
    norm = dict(type='{norm}', requires_grad=True{groups})
    model = dict(
        backbone=dict(base_channels=8, norm_cfg=norm),
        neck=dict(in_channels=[16, 32, 64], out_channels=16),
        bbox_head=dict(in_channels=16, feat_channels=16, norm_cfg=dict(norm, _delete_=True)),
        test_cfg=dict(score_thr=0.0, max_per_img=50))
    img_norm_cfg = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
    train_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True),
        dict(type='Resize', img_scale=(64, 64), keep_ratio=True),
        dict(type='Normalize', **img_norm_cfg),
        dict(type='Pad', size_divisor=32),
        dict(type='DefaultFormatBundle'),
        dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels']),
    ]
    test_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='MultiScaleFlipAug', img_scale=(64, 64), flip=False, transforms=[
            dict(type='Resize', keep_ratio=True),
            dict(type='Normalize', **img_norm_cfg),
            dict(type='Pad', size_divisor=32),
            dict(type='ImageToTensor', keys=['img']),
            dict(type='Collect', keys=['img']),
        ]),
    ]
    data = dict(samples_per_gpu=2, workers_per_gpu=0,
                train=dict(pipeline=train_pipeline), val=dict(pipeline=test_pipeline),
                test=dict(pipeline=test_pipeline))
    optimizer = dict(type='SGD', lr=0.001, momentum=0.9, weight_decay=0.0001)
    lr_config = dict(_delete_=True, policy='fixed')
    runner = dict(_delete_=True, type='IterBasedRunner', max_iters=2)
    checkpoint_config = dict(interval=2)
    log_config = dict(interval=1)
""")


def _segdet(*args: str, cwd: Path, env: dict | None = None, timeout: int = 900) -> subprocess.CompletedProcess:
    full = dict(os.environ, OMP_NUM_THREADS="1", **(env or {}))
    return subprocess.run([SEGDET, *args], cwd=cwd, env=full, capture_output=True, text=True, timeout=timeout)


def _write_checkpoint(cfg_path: Path, out: Path) -> None:
    """A tiny model with spread-out weights and BatchNorm statistics (so folding matters and
    scores are far from ties), saved as ``segdet train`` saves."""
    from segdet import Config, build_model
    from segdet.engine.checkpoint import save_checkpoint

    torch.manual_seed(0)
    model = build_model(Config.fromfile(str(cfg_path)).model.to_dict())
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.copy_(torch.rand(m.num_features, generator=gen) - 0.5)
                m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.bias.copy_(torch.rand(m.num_features, generator=gen) - 0.5)
        cls = model.bbox_head.retina_cls
        cls.bias.copy_(torch.randn(cls.bias.shape, generator=gen))
        cls.weight.mul_(20.0)
    save_checkpoint(model, str(out), meta=dict(CLASSES=("circle", "square", "triangle")))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("speedups")
    subprocess.run([SEGDET, "data", "shapes", "--out", "data/shapes", "--seed", "0", "--num-train", "4",
                    "--num-val", "4", "--img-size", "64"], cwd=root, check=True, capture_output=True, timeout=300)
    paths = {"root": root}
    for name, norm, groups in (("bn", "BN", ""), ("gn", "GN", ", num_groups=4")):
        cfg = root / f"tiny_{name}.py"
        cfg.write_text(TINY_CFG.format(root=ROOT, norm=norm, groups=groups))
        ckpt = root / f"tiny_{name}.pth"
        _write_checkpoint(cfg, ckpt)
        paths[name], paths[f"{name}_ckpt"] = cfg, ckpt
    return paths


def _metric(stdout: str, name: str = "bbox_mAP") -> str:
    lines = [line for line in stdout.splitlines() if line.startswith(f"{name}:")]
    assert lines, stdout[-2000:]
    return lines[0].split(":", 1)[1].strip()


def _assert_same_results(a: list[dict], b: list[dict]) -> None:
    """Same detections per image: counts, sorted scores, and for every box of ``a`` a box of
    the same label in ``b`` (order may differ where scores nearly tie)."""
    assert len(a) == len(b) > 0
    for ra, rb in zip(a, b):
        assert len(ra["scores"]) == len(rb["scores"]) > 0
        assert torch.allclose(ra["scores"].sort().values, rb["scores"].sort().values, atol=1e-4)
        dist = torch.cdist(ra["bboxes"], rb["bboxes"], p=float("inf"))
        dist[ra["labels"][:, None] != rb["labels"][None, :]] = float("inf")
        assert dist.min(dim=1).values.max() < 1e-2


def _test(tiny: dict[str, Path], name: str, out: str, *flags: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return _segdet("test", str(tiny[name]), str(tiny[f"{name}_ckpt"]), "--eval", "bbox", "--out", out,
                   "--device", "cpu", *flags, cwd=tiny["root"], env=env)


def test_fuse_conv_bn_and_channels_last_give_the_same_map_and_detections(tiny):
    plain = _test(tiny, "bn", "plain.pkl")
    assert plain.returncode == 0, plain.stderr[-3000:]
    fast = _test(tiny, "bn", "fast.pkl", "--fuse-conv-bn", "--channels-last")
    assert fast.returncode == 0, fast.stderr[-3000:]
    logs = fast.stdout + fast.stderr
    # ResNet-18: 1 + 16 + 3 shortcut BatchNorm layers, head towers: 2 x 2 ConvModules
    assert "--fuse-conv-bn: folded 24 BatchNorm layers" in logs
    assert "--channels-last" in logs
    for metric in ("bbox_mAP", "bbox_mAP_50", "bbox_mAP_75"):
        assert _metric(fast.stdout, metric) == _metric(plain.stdout, metric)
    root = tiny["root"]
    _assert_same_results(torch.load(root / "plain.pkl", weights_only=True),
                         torch.load(root / "fast.pkl", weights_only=True))


def test_fuse_conv_bn_on_a_model_without_batchnorm_says_so(tiny):
    proc = _test(tiny, "gn", "gn.pkl", "--fuse-conv-bn")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "--fuse-conv-bn: folded 0 BatchNorm layers: this model has no BatchNorm" in proc.stdout + proc.stderr


def test_train_with_channels_last_writes_a_plain_checkpoint(tiny, tmp_path):
    proc = _segdet("train", str(tiny["bn"]), "--channels-last", "--no-validate", "--no-data-check", "--seed", "0",
                   "--device", "cpu", "--work-dir", str(tmp_path / "w"), cwd=tiny["root"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    _assert_loads_into_a_plain_model(tiny["bn"], tmp_path / "w" / "iter_2.pth")


def _assert_loads_into_a_plain_model(cfg: Path, ckpt_path: Path) -> None:
    from segdet import Config, build_model
    from segdet.engine.checkpoint import load_checkpoint

    state = torch.load(ckpt_path, map_location="cpu", weights_only=True)["state_dict"]
    assert state and not any("_orig_mod" in key for key in state)
    model = build_model(Config.fromfile(str(cfg)).model.to_dict())
    assert set(state) == set(model.state_dict())
    load_checkpoint(model, str(ckpt_path), strict=True)


@pytest.mark.parametrize("command", ["train", "test"])
def test_compile_without_a_cxx_compiler_fails_clearly(tiny, tmp_path, command):
    env = dict(CXX="/nonexistent/bin/g++", TORCHINDUCTOR_CACHE_DIR=str(tmp_path / "inductor"))
    if command == "train":
        proc = _segdet("train", str(tiny["bn"]), "--compile", "--no-validate", "--no-data-check", "--device", "cpu",
                       "--work-dir", str(tmp_path / "w"), cwd=tiny["root"], env=env)
    else:
        proc = _test(tiny, "bn", str(tmp_path / "r.pkl"), "--compile", env=env)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert "CompileUnavailableError: --compile (torch.compile) cannot run here" in proc.stderr
    assert "/nonexistent/bin/g++" in proc.stderr and "leave --compile out" in proc.stderr
    assert not (tmp_path / "w" / "iter_2.pth").exists()


def _compile_works() -> bool:
    from segdet.apis.speedups import CompileUnavailableError, check_compile_available

    try:
        check_compile_available("inductor", "cpu", smoke_test=False)
    except CompileUnavailableError:
        return False
    return True


@pytest.mark.slow
@pytest.mark.skipif(not _compile_works(), reason="torch.compile's inductor toolchain is not available here")
def test_compile_trains_and_tests_with_plain_checkpoints_and_the_same_results(tiny, tmp_path):
    env = dict(TORCHINDUCTOR_CACHE_DIR=str(tmp_path / "inductor"))
    proc = _segdet("train", str(tiny["bn"]), "--compile", "--no-validate", "--no-data-check", "--seed", "0",
                   "--device", "cpu", "--work-dir", str(tmp_path / "w"), cwd=tiny["root"], env=env, timeout=1500)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "--compile: backbone, neck compiled" in proc.stdout + proc.stderr
    _assert_loads_into_a_plain_model(tiny["bn"], tmp_path / "w" / "iter_2.pth")
    plain = _test(tiny, "bn", str(tmp_path / "plain.pkl"))
    compiled = _test(tiny, "bn", str(tmp_path / "compiled.pkl"), "--compile", env=env)
    assert plain.returncode == 0 and compiled.returncode == 0, compiled.stderr[-3000:]
    assert _metric(compiled.stdout) == _metric(plain.stdout)
    _assert_same_results(torch.load(tmp_path / "plain.pkl", weights_only=True),
                         torch.load(tmp_path / "compiled.pkl", weights_only=True))
