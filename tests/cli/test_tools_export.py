"""``segdet export``: RetinaNet and PSPNet to ONNX and TorchScript reproduce PyTorch on CPU."""
from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from segdet.config import Config
from segdet.engine.checkpoint import save_checkpoint
from segdet.models.builder import build_model

ROOT = Path(__file__).resolve().parents[2]
SEGDET = str(Path(sys.executable).parent / "segdet")
RETINA = str(ROOT / "configs" / "retinanet" / "retinanet_r18_fpn_shapes.py")
PSP = str(ROOT / "configs" / "pspnet" / "pspnet_r18-d8_shapes.py")


def _segdet(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run([SEGDET, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    if check:
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return proc


def _checkpoint(config: str, path: Path, bias: float | None = None) -> tuple[Path, torch.nn.Module]:
    torch.manual_seed(0)
    cfg = Config.fromfile(config)
    model = build_model(cfg.model)
    if bias is not None:  # scores well above zero, so NMS has real work to do
        torch.nn.init.constant_(model.bbox_head.retina_cls.bias, bias)
    save_checkpoint(model, str(path), meta=dict(CLASSES=["circle", "square", "triangle"]))
    return path, model.eval()


def _image(seed: int, shape: tuple[int, int]) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(seed).normal(size=(1, 3, *shape)).astype(np.float32))


def _run(fmt: str, path: Path, img: torch.Tensor) -> list[np.ndarray]:
    if fmt == "onnx":
        import onnxruntime

        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return session.run(None, {"img": img.numpy()})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded = torch.jit.load(str(path))
    with torch.no_grad():
        outs = loaded(img)
    return [o.numpy() for o in ([outs] if isinstance(outs, torch.Tensor) else outs)]


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_retinanet_export_with_nms_matches_pytorch(tmp_path, fmt):
    if fmt == "onnx":
        pytest.importorskip("onnxruntime")
    ckpt, model = _checkpoint(RETINA, tmp_path / "retina.pth", bias=-1.0)
    out = tmp_path / f"retina.{'onnx' if fmt == 'onnx' else 'pt'}"
    proc = _segdet("export", RETINA, str(ckpt), "--format", fmt, "--shape", "64", "64", "--verify",
                   "--out", str(out), cwd=tmp_path)
    assert "verified on sample 1" in proc.stdout and "score_thr 0.05 -> 0" in proc.stdout
    # independently: an image the exporter never saw, against the PyTorch model's own simple_test
    model.bbox_head.test_cfg["score_thr"] = 0.0
    img = _image(5, (64, 64))
    meta = dict(img_shape=(64, 64, 3), ori_shape=(64, 64, 3), pad_shape=(64, 64, 3), flip=False,
                scale_factor=np.ones(4, np.float32), batch_input_shape=(64, 64))
    with torch.no_grad():
        ref = model.simple_test(img, [meta], rescale=False)[0]
    bboxes, scores, labels = _run(fmt, out, img)
    assert len(ref["scores"]) == 100  # max_per_img: a full set after NMS
    np.testing.assert_allclose(bboxes, ref["bboxes"].numpy(), atol=1e-3, rtol=1e-3)
    np.testing.assert_allclose(scores, ref["scores"].numpy(), atol=1e-4, rtol=1e-4)
    np.testing.assert_array_equal(labels, ref["labels"].numpy())


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_pspnet_export_matches_pytorch(tmp_path, fmt):
    if fmt == "onnx":
        pytest.importorskip("onnxruntime")
    ckpt, model = _checkpoint(PSP, tmp_path / "psp.pth")
    out = tmp_path / "psp.model"
    proc = _segdet("export", PSP, str(ckpt), "--format", fmt, "--shape", "48", "48", "--verify", "--out", str(out),
                   cwd=tmp_path)
    assert "seg_logits (1, 4, 48, 48)" in proc.stdout
    img = _image(3, (48, 48))
    with torch.no_grad():
        ref = model.encode_decode(img, [dict(img_shape=(48, 48, 3), ori_shape=(48, 48, 3), flip=False)])
    (logits,) = _run(fmt, out, img)
    np.testing.assert_allclose(logits, ref.numpy(), atol=1e-4, rtol=1e-4)


def test_export_errors(tmp_path):
    proc = _segdet("export", RETINA, str(tmp_path / "none.pth"), cwd=tmp_path, check=False)
    assert proc.returncode != 0 and "none.pth" in proc.stderr and "no such checkpoint" in proc.stderr
    pytest.importorskip("onnx")
    ckpt, _ = _checkpoint(PSP, tmp_path / "psp.pth")
    proc = _segdet("export", PSP, str(ckpt), "--format", "onnx", "--shape", "64", "64", cwd=tmp_path, check=False)
    assert proc.returncode != 0 and "multiples of 48" in proc.stderr


def test_dynamic_export_is_checked_at_a_second_size(tmp_path):
    pytest.importorskip("onnxruntime")
    ckpt, _ = _checkpoint(RETINA, tmp_path / "retina.pth")
    proc = _segdet("export", RETINA, str(ckpt), "--dynamic", cwd=tmp_path, check=False)
    assert proc.returncode != 0 and "traced at one input size" in proc.stderr
    # DeepLabV3's image pooling sizes are fixed while tracing: the second-size run catches it, no file is left
    deeplab = str(ROOT / "configs" / "deeplabv3" / "deeplabv3_r18-d8_shapes.py")
    ckpt, _ = _checkpoint(deeplab, tmp_path / "dl.pth")
    proc = _segdet("export", deeplab, str(ckpt), "--dynamic", "--shape", "64", "64", cwd=tmp_path, check=False)
    assert proc.returncode != 0 and "fails on a 80x80 input" in proc.stderr
    assert not (tmp_path / "dl.onnx").exists()
