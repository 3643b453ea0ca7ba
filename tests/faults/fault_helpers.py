"""Helpers of the fault tests (tests/faults): run the real ``segdet`` command in a subprocess and check that a
failure is a short message naming the culprit, with no traceback and nothing else damaged."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOY_DIR = ROOT / "tests" / "engine"  # on PYTHONPATH of the subprocesses (their configs import segdet.testing.toy_detection)
SEGDET = str(Path(sys.executable).parent / "segdet")

TOY_CFG = textwrap.dedent("""
    custom_imports = dict(imports=['segdet.testing.toy_detection'])
    model = dict(type='ToyDetector', num_classes=3, width=8)
    data = dict(samples_per_gpu=2, workers_per_gpu=0,
                train=dict(type='ToyDataset', num=8, seed=0),
                val=dict(type='ToyDataset', num=4, seed=1),
                test=dict(type='ToyDataset', num=4, seed=1))
    optimizer = dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4)
    optimizer_config = dict(grad_clip=None)
    lr_config = dict(policy='step', step=[2])
    runner = dict(type='EpochBasedRunner', max_epochs=2)
    checkpoint_config = dict(interval=1)
    log_config = dict(interval=2, hooks=[dict(type='TextLoggerHook')])
    evaluation = dict(interval=1, metric='bbox')
    workflow = [('train', 1)]
""")

EVIL_MAKER = textwrap.dedent("""
    import os, sys, torch

    class Payload:
        def __reduce__(self):
            return (os.system, ("touch " + sys.argv[2],))

    legacy = len(sys.argv) > 3 and sys.argv[3] == "legacy"
    torch.save({"state_dict": {}, "meta": {"epoch": 1, "iter": 4}, "payload": Payload()}, sys.argv[1],
               _use_new_zipfile_serialization=not legacy)
""")


def run_segdet(*args: str, cwd: Path, env: dict[str, str] | None = None,
               timeout: float = 600) -> subprocess.CompletedProcess:
    """``segdet *args`` in a subprocess with the toy components importable; never raises on failure."""
    full_env = dict(os.environ, PYTHONPATH=str(TOY_DIR), OMP_NUM_THREADS="1")
    full_env.pop("SEGDET_DEBUG", None)
    full_env.update(env or {})
    return subprocess.run([SEGDET, *args], cwd=cwd, env=full_env, capture_output=True, text=True,
                          timeout=timeout)


def make_evil_checkpoint(path: Path, marker: Path, legacy: bool = False) -> Path:
    """A checkpoint whose unpickling would run ``touch marker`` (a ``__reduce__`` payload)."""
    maker = path.parent / "_make_evil.py"
    maker.write_text(EVIL_MAKER)
    subprocess.run([sys.executable, str(maker), str(path), str(marker)] + (["legacy"] if legacy else []),
                   check=True, timeout=120)
    maker.unlink()
    assert path.is_file() and not marker.exists()
    return path


def snapshot(directory: Path) -> dict[str, str]:
    """``{relative path: sha256}`` of every file under ``directory``."""
    out = {}
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            out[str(path.relative_to(directory))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def assert_clean_failure(proc: subprocess.CompletedProcess, *names: str) -> str:
    """Exit status not 0, every one of ``names`` in the message, no traceback anywhere. Returns stderr."""
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0, text[-3000:]
    assert "Traceback" not in text, text[-5000:]
    for name in names:
        assert name in proc.stderr, f"{name!r} not in the message:\n{proc.stderr[-3000:]}"
    return proc.stderr


COCO_TRAIN = """
    train_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True),
        dict(type='Resize', img_scale=(32, 32), keep_ratio=False),
        dict(type='Normalize', mean=[0, 0, 0], std=[255, 255, 255], to_rgb=True),
        dict(type='DefaultFormatBundle'),
        dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels']),
    ]
    test_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='MultiScaleFlipAug', img_scale=(32, 32), flip=False, transforms=[
            dict(type='Resize', keep_ratio=False),
            dict(type='Normalize', mean=[0, 0, 0], std=[255, 255, 255], to_rgb=True),
            dict(type='ImageToTensor', keys=['img']),
            dict(type='Collect', keys=['img']),
        ]),
    ]
    data = dict(
        _delete_=True, samples_per_gpu=2, workers_per_gpu={workers},
        train=dict(type='CocoDataset', ann_file='{train}', img_prefix='{images}', classes={classes},
                   pipeline=train_pipeline),
        val=dict(type='CocoDataset', ann_file='{val}', img_prefix='{images}', classes={classes},
                 pipeline=test_pipeline),
        test=dict(type='CocoDataset', ann_file='{val}', img_prefix='{images}', classes={classes},
                  pipeline=test_pipeline))
"""


def write_coco(root: Path, name: str, files: list[str], categories: tuple[str, ...] = ("cat", "dog"),
               labelled: tuple[str, ...] = ("cat",), size: int = 40) -> Path:
    """A COCO annotation file ``root/name`` listing ``files`` (``size`` px squares), one box each
    of the first of ``labelled`` (none when ``labelled`` is empty)."""
    import json

    cats = [{"id": i + 1, "name": n} for i, n in enumerate(categories)]
    images = [{"id": i + 1, "file_name": f, "width": size, "height": size} for i, f in enumerate(files)]
    anns = []
    if labelled:
        cat_id = categories.index(labelled[0]) + 1
        anns = [{"id": i + 1, "image_id": i + 1, "category_id": cat_id, "bbox": [4, 4, 20, 20], "area": 400,
                 "iscrowd": 0} for i in range(len(files))]
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"images": images, "annotations": anns, "categories": cats}))
    return path


def write_images(folder: Path, files: list[str], size: int = 40) -> None:
    import cv2
    import numpy as np

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for f in files:
        cv2.imwrite(str(folder / f), rng.integers(0, 255, (size, size, 3), dtype=np.uint8))


def coco_config(tmp_path: Path, train: Path, val: Path, images: Path, classes: tuple[str, ...] = ("cat",),
                workers: int = 0) -> Path:
    extra = textwrap.dedent(COCO_TRAIN).format(train=train, val=val, images=images, classes=repr(tuple(classes)),
                                               workers=workers)
    path = tmp_path / "coco_toy.py"
    path.write_text(TOY_CFG + extra)
    return path
