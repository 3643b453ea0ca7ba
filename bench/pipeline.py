"""Images per second of segdet's standard training pipeline against torchvision.transforms.v2.

    OMP_NUM_THREADS=2 .venv/bin/python bench/pipeline.py [--repeats 5] [--num 200] [--threads 2]

Both pipelines read the same JPEGs (the raccoon photos in ``../shared/data/raccoon/images``) and do
the same work per image, single process, with the same thread count for OpenCV and torch:

- segdet: ``LoadImageFromFile`` (cv2), ``Resize`` to (1333, 800) keeping the ratio,
  ``RandomFlip(0.5)``, ``Normalize`` (BGR -> RGB, ImageNet mean/std), ``Pad(size_divisor=32)``,
  ``DefaultFormatBundle``, ``Collect(keys=['img'])``.
- torchvision: ``read_file`` + ``decode_image`` (RGB uint8 CHW), ``v2.Resize`` to the same
  keep-ratio size (bilinear; rows with and without antialias), ``v2.RandomHorizontalFlip(0.5)``,
  ``v2.ToDtype(float32)``, ``v2.Normalize``, zero padding to a multiple of 32.

Rounds of the pipelines are interleaved so that machine drift affects all of them; the table
shows the median over rounds of images per second, and each row's ratio to segdet.
"""
from __future__ import annotations

import argparse
import math
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import torch
import torchvision
from torchvision.io import decode_image, read_file
from torchvision.transforms import v2

from segdet.data.transforms.compose import Compose
from segdet.data.transforms.resize import rescale_size

SHARED = Path(__file__).resolve().parents[2] / "shared"
IMAGES = SHARED / "data" / "raccoon" / "images"
SCALE = (1333, 800)
MEAN, STD = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]

SEGDET_PIPELINE = [
    dict(type="LoadImageFromFile"),
    dict(type="Resize", img_scale=SCALE, keep_ratio=True),
    dict(type="RandomFlip", flip_ratio=0.5),
    dict(type="Normalize", mean=MEAN, std=STD, to_rgb=True),
    dict(type="Pad", size_divisor=32),
    dict(type="DefaultFormatBundle"),
    dict(type="Collect", keys=["img"]),
]


def _segdet(paths: list[Path]) -> Callable[[int], torch.Tensor]:
    pipeline = Compose(SEGDET_PIPELINE)

    def run(i: int) -> torch.Tensor:
        out = pipeline(dict(img_info=dict(filename=paths[i].name), img_prefix=str(paths[i].parent),
                            bbox_fields=[], mask_fields=[], seg_fields=[]))
        assert out is not None
        return out["img"]

    return run


def _pad32(img: torch.Tensor) -> torch.Tensor:
    h, w = img.shape[-2:]
    return torch.nn.functional.pad(img, (0, math.ceil(w / 32) * 32 - w, 0, math.ceil(h / 32) * 32 - h))


def _torchvision(paths: list[Path], antialias: bool) -> Callable[[int], torch.Tensor]:
    after_resize = v2.Compose([v2.RandomHorizontalFlip(0.5), v2.ToDtype(torch.float32, scale=False),
                               v2.Normalize(MEAN, STD), _pad32])

    def run(i: int) -> torch.Tensor:
        img = decode_image(read_file(str(paths[i])), mode=torchvision.io.ImageReadMode.RGB)
        h, w = img.shape[-2:]
        new_w, new_h, _ = rescale_size(w, h, SCALE)
        img = v2.functional.resize(img, [new_h, new_w], antialias=antialias)
        return after_resize(img)

    return run


def _round(run: Callable[[int], Any], n: int) -> float:
    start = time.perf_counter()
    for i in range(n):
        run(i)
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds over the images")
    parser.add_argument("--num", type=int, default=200, help="images per round")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(),
                        help="threads of torch and OpenCV (default: torch's)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    paths = sorted(IMAGES.glob("*.jpg"))[: args.num]
    if not paths:
        raise SystemExit(f"no JPEG images under {IMAGES}")
    runs = {
        "segdet (cv2)": _segdet(paths),
        "torchvision v2, antialias=False": _torchvision(paths, antialias=False),
        "torchvision v2, antialias=True": _torchvision(paths, antialias=True),
    }
    torch.manual_seed(0)
    for i in range(min(len(paths), 5)):  # same output shapes; warm-up
        shapes = {name: tuple(run(i).shape) for name, run in runs.items()}
        assert len(set(shapes.values())) == 1, shapes
    rates: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.repeats):
        for name, run in runs.items():
            rates[name].append(_round(run, len(paths)))

    print(f"torch {torch.__version__}, torchvision {torchvision.__version__}, OpenCV {cv2.__version__}, "
          f"threads {args.threads}, {len(paths)} images x {args.repeats} rounds, scale {SCALE} keep ratio")
    header = f"{'pipeline':<34} {'images/s':>9} {'min':>7} {'max':>7} {'ratio':>6}"
    print(header)
    print("-" * len(header))
    base = statistics.median(rates["segdet (cv2)"])
    for name, values in rates.items():
        med = statistics.median(values)
        print(f"{name:<34} {med:9.1f} {min(values):7.1f} {max(values):7.1f} {med / base:6.2f}")


if __name__ == "__main__":
    main()
