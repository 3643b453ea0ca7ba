"""Time to load each config file: segdet's ``Config.fromfile`` against mmengine's.

For every config under ``configs/`` (or synthetic ones in a temp dir when
there are none), prints the median wall time of

* segdet, cold: the per-process cache of parsed files cleared before each load,
  so every base file is read, parsed and executed again;
* segdet, warm: the cache kept, as when a process loads configs sharing bases;
* mmengine's ``Config.fromfile`` on the same file, when mmengine is importable,

and the ratio mmengine / segdet. The target is segdet (cold) >= 5x faster.

    python bench/config_load.py [--repeat 15] [files or folders ...]
"""
from __future__ import annotations

import argparse
import io
import logging
import math
import statistics
import sys
import tempfile
import textwrap
import time
import warnings
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "core"))

from segdet.config import Config, clear_cache, iter_config_files  # noqa: E402

TARGET = 5.0

_SYNTHETIC = {
    "_base_/models/retina.py": """
        model = dict(
            type='RetinaNet',
            backbone=dict(type='ResNet', depth=50, num_stages=4, out_indices=(0, 1, 2, 3),
                          frozen_stages=1, norm_cfg=dict(type='BN', requires_grad=True),
                          norm_eval=True, style='pytorch'),
            neck=dict(type='FPN', in_channels=[256, 512, 1024, 2048], out_channels=256,
                      start_level=1, add_extra_convs='on_input', num_outs=5),
            bbox_head=dict(
                type='RetinaHead', num_classes=80, in_channels=256, stacked_convs=4,
                anchor_generator=dict(type='AnchorGenerator', octave_base_scale=4,
                                      scales_per_octave=3, ratios=[0.5, 1.0, 2.0],
                                      strides=[8, 16, 32, 64, 128]),
                bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0, .0, .0, .0],
                                target_stds=[1.0, 1.0, 1.0, 1.0]),
                loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25),
                loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
            train_cfg=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.4)),
            test_cfg=dict(nms_pre=1000, score_thr=0.05, nms=dict(type='nms', iou_threshold=0.5)))
    """,
    "_base_/datasets/coco.py": """
        dataset_type = 'CocoDataset'
        data_root = 'data/coco/'
        img_norm_cfg = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
        train_pipeline = [
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations', with_bbox=True),
            dict(type='Resize', img_scale=(1333, 800), keep_ratio=True),
            dict(type='RandomFlip', flip_ratio=0.5),
            dict(type='Normalize', **img_norm_cfg),
            dict(type='Pad', size_divisor=32),
            dict(type='DefaultFormatBundle'),
            dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels']),
        ]
        data = dict(samples_per_gpu=2, workers_per_gpu=2,
                    train=dict(type=dataset_type, ann_file=data_root + 'train.json',
                               img_prefix=data_root + 'train/', pipeline=train_pipeline))
        evaluation = dict(interval=1, metric='bbox')
    """,
    "_base_/schedules/1x.py": """
        optimizer = dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=0.0001)
        optimizer_config = dict(grad_clip=None)
        lr_config = dict(policy='step', warmup='linear', warmup_iters=500, step=[8, 11])
        runner = dict(type='EpochBasedRunner', max_epochs=12)
    """,
    "_base_/default_runtime.py": """
        checkpoint_config = dict(interval=1)
        log_config = dict(interval=50, hooks=[dict(type='TextLoggerHook')])
        custom_hooks = [dict(type='NumClassCheckHook')]
        load_from = None
        resume_from = None
        workflow = [('train', 1)]
    """,
    "retinanet/retina_r50_1x.py": """
        _base_ = ['../_base_/models/retina.py', '../_base_/datasets/coco.py',
                  '../_base_/schedules/1x.py', '../_base_/default_runtime.py']
        optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001)
    """,
    "retinanet/retina_r18_1x.py": """
        _base_ = './retina_r50_1x.py'
        model = dict(backbone=dict(depth=18), neck=dict(in_channels=[64, 128, 256, 512]))
        neck_copy = {{_base_.model.neck}}
    """,
}


def _synthetic_configs(folder: Path) -> list[str]:
    for name, text in _SYNTHETIC.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return sorted(str(folder / name) for name in _SYNTHETIC)


def _median_ms(fn: Callable[[], Any], repeat: int, before: Callable[[], None] | None = None) -> float:
    times = []
    for _ in range(repeat):
        if before is not None:
            before()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000.0


def _mmengine() -> Any | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from mmengine.config import Config as MMConfig
    except ImportError:
        return None
    logging.getLogger("mmengine").setLevel(logging.ERROR)
    return MMConfig


def _mm_load(mm: Any, path: str) -> None:
    sink = io.StringIO()
    with warnings.catch_warnings(), redirect_stdout(sink), redirect_stderr(sink):
        warnings.simplefilter("ignore")
        mm.fromfile(path)


def _geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", help="config files or folders (default: configs/)")
    parser.add_argument("--repeat", type=int, default=15, help="loads per file and loader")
    args = parser.parse_args(argv)

    files: list[str] = []
    for p in args.paths or [str(REPO / "configs")]:
        files.extend(iter_config_files(p) if Path(p).is_dir() else [p])
    tmp = None
    if not files:
        tmp = tempfile.TemporaryDirectory()
        files = _synthetic_configs(Path(tmp.name))
        print(f"no configs found; using {len(files)} synthetic configs in {tmp.name}")

    mm = _mmengine()
    if mm is None:
        print("mmengine not installed: timing segdet only (pip install mmengine to compare)")

    rows = []
    for path in files:
        try:
            Config.fromfile(path)
        except Exception as err:  # a config being written by someone else: skip it
            print(f"skip {path}: {type(err).__name__}: {str(err).splitlines()[0]}")
            continue
        cold = _median_ms(lambda p=path: Config.fromfile(p), args.repeat, before=clear_cache)
        warm = _median_ms(lambda p=path: Config.fromfile(p), args.repeat)
        theirs: float | None = None
        if mm is not None:
            try:
                _mm_load(mm, path)
                theirs = _median_ms(lambda p=path: _mm_load(mm, p), args.repeat)
            except Exception as err:
                print(f"mmengine cannot load {path}: {type(err).__name__}: {str(err).splitlines()[0]}")
        rows.append((path, cold, warm, theirs))

    print(f"\nconfig load time, median of {args.repeat} loads per file (ms)")
    width = max((len(_short(r[0])) for r in rows), default=10)
    header = f"{'config':<{width}} {'segdet cold':>11} {'segdet warm':>11}"
    if mm is not None:
        header += f" {'mmengine':>9} {'x cold':>7} {'x warm':>7}"
    print(header)
    for path, cold, warm, theirs in rows:
        line = f"{_short(path):<{width}} {cold:11.2f} {warm:11.2f}"
        if mm is not None:
            line += f" {theirs:9.2f} {theirs / cold:7.1f} {theirs / warm:7.1f}" if theirs else f" {'-':>9}"
        print(line)
    print(f"{'median over files':<{width}} {statistics.median(r[1] for r in rows):11.2f} "
          f"{statistics.median(r[2] for r in rows):11.2f}" if rows else "no configs loaded")
    if mm is not None:
        compared = [r for r in rows if r[3]]
        cold_ratio = _geomean([r[3] / r[1] for r in compared])
        warm_ratio = _geomean([r[3] / r[2] for r in compared])
        verdict = "meets" if cold_ratio >= TARGET else "MISSES"
        print(f"\nmmengine / segdet (geometric mean over {len(compared)} files): "
              f"cold {cold_ratio:.1f}x, warm {warm_ratio:.1f}x; {verdict} the {TARGET:.0f}x target (cold)")
    if tmp is not None:
        tmp.cleanup()
    return 0


def _short(path: str) -> str:
    resolved = Path(path).resolve()
    for root in (REPO, Path(tempfile.gettempdir()).resolve()):
        try:
            rel = resolved.relative_to(root)
        except ValueError:
            continue
        # Drop the random folder of synthetic configs: tmpXXXX/retinanet/x.py -> retinanet/x.py
        return str(Path(*rel.parts[1:])) if root != REPO and len(rel.parts) > 1 else str(rel)
    return resolved.name


if __name__ == "__main__":
    sys.exit(main())
