"""init_segmentor / inference_segmentor on a tiny config, from a saved checkpoint."""
from __future__ import annotations

import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from segdet.errors import SegdetError
from segdet.registry import resolve

CFG = textwrap.dedent("""
    img_norm_cfg = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
    model = dict(
        type='EncoderDecoder',
        backbone=dict(type='SegTestBackbone'),
        decode_head=dict(type='FCNHead', channels=8, num_convs=1, concat_input=False, num_classes=3,
                         loss_decode=dict(type='SegTestCE')),
        test_cfg=dict(mode='whole'))
    data = dict(test=dict(
        classes=('a', 'b', 'c'),
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='MultiScaleFlipAug', img_scale=(40, 30), flip={flip},
                 transforms=[
                     dict(type='Resize', keep_ratio=True),
                     dict(type='RandomFlip'),
                     dict(type='Normalize', **img_norm_cfg),
                     dict(type='ImageToTensor', keys=['img']),
                     dict(type='Collect', keys=['img']),
                 ])]))
""")


def _pipeline_available() -> bool:
    try:
        for name in ("MultiScaleFlipAug", "Resize", "RandomFlip", "Normalize", "ImageToTensor", "Collect"):
            resolve(name, "transforms")
        from segdet.data.collate import collate  # noqa: F401
    except (SegdetError, ImportError):
        return False
    return True


@pytest.mark.parametrize("flip", [False, True])
def test_inference_from_paths_and_arrays(tmp_path: Path, flip: bool) -> None:
    if not _pipeline_available():
        pytest.fail("the data pipeline transforms are not installed")
    from segdet.apis.seg_inference import inference_segmentor, init_segmentor
    from segdet.engine.checkpoint import save_checkpoint

    cfg = tmp_path / "tiny_seg.py"
    cfg.write_text(CFG.replace("{flip}", str(flip)))
    model = init_segmentor(str(cfg))
    assert model.CLASSES == ("a", "b", "c") and not model.training
    ckpt = tmp_path / "tiny.pth"
    save_checkpoint(model, str(ckpt), meta={"CLASSES": ("x", "y", "z")})
    model = init_segmentor(str(cfg), str(ckpt), device="cpu")
    assert model.CLASSES == ("x", "y", "z")

    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (25, 33, 3), dtype=np.uint8)
    path = tmp_path / "img.png"
    cv2.imwrite(str(path), img)
    (from_path,) = inference_segmentor(model, str(path))
    from_array = inference_segmentor(model, [img, img])
    assert from_path.shape == (25, 33) and from_path.dtype == torch.long
    assert len(from_array) == 2 and torch.equal(from_array[0], from_path)
