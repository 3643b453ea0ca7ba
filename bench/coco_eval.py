"""COCO bbox evaluation time: segdet's CocoMetric (faster-coco-eval backend) against plain pycocotools.

    .venv/bin/python bench/coco_eval.py [--images 500] [--classes 80] [--dets 100] [--seed 0]

A synthetic ground truth (``--images`` images of 640x480, 2-12 objects each over ``--classes``
categories with non-contiguous ids) and per image ``--dets`` detections: noisy copies of the
ground truth (right and wrong class) plus random boxes. Each contender runs once, from the
detection list to the summary numbers:

- pycocotools: ``loadRes`` + ``COCOeval`` evaluate / accumulate / summarize, maxDets (100, 300, 1000);
- CocoMetric(backend='faster_coco_eval') and CocoMetric(backend='pycocotools'): conversion of the
  per-image result dicts included.

The table shows seconds, the ratio to plain pycocotools, and whether the twelve summary numbers
agree (to the 3 decimals CocoMetric reports).
"""
from __future__ import annotations

import argparse
import contextlib
import io
import time
from types import SimpleNamespace
from typing import Any

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from segdet.evaluation.coco_metric import CocoMetric, results_to_coco_json

ITEMS = ["mAP", "mAP_50", "mAP_75", "mAP_s", "mAP_m", "mAP_l",
         "AR@100", "AR@300", "AR@1000", "AR_s@1000", "AR_m@1000", "AR_l@1000"]


def make_data(n_images: int, n_classes: int, n_dets: int, seed: int) -> tuple[Any, list[dict[str, Any]]]:
    """A dataset-like object (coco, cat_ids, img_ids, CLASSES) and one result dict per image."""
    rng = np.random.default_rng(seed)
    cat_ids = [2 * c + 1 for c in range(n_classes)]
    images, anns, results = [], [], []
    for i in range(n_images):
        images.append(dict(id=i + 1, file_name=f"{i}.jpg", width=640, height=480))
        k = int(rng.integers(2, 13))
        wh = np.exp(rng.uniform(np.log(8), np.log(400), (k, 2)))
        xy = rng.uniform(0, 1, (k, 2)) * np.maximum([640, 480] - wh, 1)
        labels = rng.integers(0, n_classes, k)
        for (x, y), (w, h), lab in zip(xy, wh, labels):
            anns.append(dict(id=len(anns) + 1, image_id=i + 1, category_id=cat_ids[lab],
                             bbox=[float(x), float(y), float(w), float(h)], area=float(w * h), iscrowd=0))
        gt = np.concatenate([xy, xy + wh], 1)
        copies = rng.integers(0, k, n_dets // 2)
        noisy = gt[copies] + rng.normal(0, 0.08, (len(copies), 4)) * np.tile(wh[copies], 2)
        noisy_labels = np.where(rng.uniform(size=len(copies)) < 0.8, labels[copies],
                                rng.integers(0, n_classes, len(copies)))
        rand_xy = rng.uniform(0, [600, 440], (n_dets - len(copies), 2))
        rand = np.concatenate([rand_xy, rand_xy + rng.uniform(8, 200, (len(rand_xy), 2))], 1)
        boxes = np.clip(np.concatenate([noisy, rand]), 0, [640, 480, 640, 480])
        results.append(dict(bboxes=boxes.astype(np.float32),
                            scores=rng.uniform(0.01, 1, n_dets).astype(np.float32),
                            labels=np.concatenate([noisy_labels, rng.integers(0, n_classes, len(rand))])))
    coco = COCO()
    coco.dataset = dict(images=images, annotations=anns,
                        categories=[dict(id=c, name=f"class{c}") for c in cat_ids])
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    dataset = SimpleNamespace(coco=coco, cat_ids=cat_ids, img_ids=[im["id"] for im in images],
                              CLASSES=tuple(f"class{c}" for c in cat_ids))
    return dataset, results


def plain_pycocotools(dataset: Any, dets: list[dict[str, Any]]) -> dict[str, float]:
    with contextlib.redirect_stdout(io.StringIO()):
        ev = COCOeval(dataset.coco, dataset.coco.loadRes(dets), "bbox")
        ev.params.catIds, ev.params.imgIds = dataset.cat_ids, dataset.img_ids
        ev.params.maxDets = [100, 300, 1000]
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return {k: float(f"{v:.3f}") for k, v in zip(ITEMS, ev.stats)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--classes", type=int, default=80)
    parser.add_argument("--dets", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    dataset, results = make_data(args.images, args.classes, args.dets, args.seed)
    n_gt = len(dataset.coco.dataset["annotations"])
    print(f"{args.images} images, {args.classes} classes, {n_gt} ground-truth boxes, "
          f"{args.images * args.dets} detections")

    rows = []
    start = time.perf_counter()
    dets = results_to_coco_json(results, dataset.img_ids, dataset.cat_ids)  # the json a user would have
    convert = time.perf_counter() - start
    start = time.perf_counter()
    ref = plain_pycocotools(dataset, dets)
    rows.append(("pycocotools COCOeval (json given)", time.perf_counter() - start, ref))
    for backend in ("faster_coco_eval", "pycocotools"):
        metric = CocoMetric(metric_items=ITEMS, backend=backend)
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            out = metric.evaluate(results, dataset)
        rows.append((f"CocoMetric backend={backend}", time.perf_counter() - start,
                     {k: out[f"bbox_{k}"] for k in ITEMS}))

    base = rows[0][1]
    header = f"| {'contender':<38} | {'seconds':>8} | {'ratio':>6} | {'numbers agree':<13} |"
    line = "+" + "-" * (len(header) - 2) + "+"
    print(line, header, line, sep="\n")
    for name, secs, stats in rows:
        agree = "yes" if stats == ref else "NO: " + ", ".join(k for k in ITEMS if stats[k] != ref[k])
        print(f"| {name:<38} | {secs:8.2f} | {secs / base:6.2f} | {agree:<13} |")
    print(line)
    print(f"(results -> COCO json conversion alone: {convert:.2f} s, included in the CocoMetric rows)")
    print("bbox: " + " ".join(f"{k}={ref[k]:.3f}" for k in ITEMS))


if __name__ == "__main__":
    main()
