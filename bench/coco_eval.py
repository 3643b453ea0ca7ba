"""COCO bbox evaluation time: segdet's CocoMetric against the bare backends it wraps.

    .venv/bin/python bench/coco_eval.py [--images 500] [--classes 80] [--dets 100] [--rounds 3]

A synthetic ground truth (``--images`` images of 640x480, 2-12 objects each over ``--classes``
categories with non-contiguous ids) and per image ``--dets`` detections: noisy copies of the
ground truth (right and wrong class) plus random boxes. maxDets (100, 300, 1000) everywhere, as
MMDetection sets them.

Every row is timed from the same starting point, the ground-truth annotation dict (what
``json.load`` of an instances file gives) plus the detections, to the twelve summary numbers,
including the backend's ground-truth index (``COCO(dict)`` / ``createIndex``):

- bare pycocotools / faster-coco-eval: what a user writes with the library alone: ``COCO`` of the
  ground-truth dict, ``loadRes`` of the detections *given ready-made* (a list of COCO result dicts,
  or faster-coco-eval's Nx7 ``[image_id, x, y, w, h, score, category_id]`` array; building them is
  not timed), ``COCOeval`` evaluate / accumulate / summarize;
- CocoMetric: from segdet's per-image result dicts (numpy boxes, scores, labels), so segdet's
  conversion is timed. "first" indexes the ground truth (cache emptied before); "again" is a new
  CocoMetric on the same data set, as the next epoch's evaluation hook builds it: the ground-truth
  index is reused.

Rows run interleaved (the order rotates each round), each after a ``gc.collect()``; the table
shows medians over ``--rounds`` of wall seconds and of the process's CPU seconds, the ratios (of
CPU seconds) to bare faster-coco-eval (dicts given) and to bare pycocotools, and the largest
difference of the twelve numbers from pycocotools' ``stats`` (CocoMetric at full precision,
``ndigits=None``). Every contender is single-threaded work, so on a quiet machine the two
columns agree; on a shared one, wall time mostly measures waiting for a core, and the ratios
use CPU time.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import gc
import io
import os
import statistics
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np
from faster_coco_eval import COCO as FasterCOCO
from faster_coco_eval import COCOeval_faster
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from segdet.evaluation import coco_metric
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


def _bare(coco_cls: Any, eval_cls: Any, gt_dict: dict[str, Any], dets: Any) -> list[float]:
    """The library alone: index the ground truth, loadRes, evaluate, accumulate, summarize."""
    with contextlib.redirect_stdout(io.StringIO()):
        if coco_cls is COCO:  # pycocotools' COCO takes a file name only
            gt = COCO()
            gt.dataset = gt_dict
            gt.createIndex()
        else:
            gt = coco_cls(gt_dict)
        ev = eval_cls(gt, gt.loadRes(dets), "bbox")
        ev.params.maxDets = [100, 300, 1000]
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return [float(v) for v in ev.stats]


def _metric(dataset: Any, results: list[dict[str, Any]], backend: str) -> list[float]:
    metric = CocoMetric(metric_items=ITEMS, backend=backend, ndigits=None)
    with contextlib.redirect_stdout(io.StringIO()):
        out = metric.evaluate(results, dataset)
    return [out[f"bbox_{k}"] for k in ITEMS]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--classes", type=int, default=80)
    parser.add_argument("--dets", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    dataset, results = make_data(args.images, args.classes, args.dets, args.seed)
    gt_dict = copy.deepcopy(dataset.coco.dataset)
    n_gt = len(gt_dict["annotations"])
    print(f"{args.images} images, {args.classes} classes, {n_gt} ground-truth boxes, "
          f"{args.images * args.dets} detections; median of {args.rounds} interleaved rounds; "
          f"load average {os.getloadavg()[0]:.2f}")
    dets_json = results_to_coco_json(results, dataset.img_ids, dataset.cat_ids)
    dets_array = np.array([[d["image_id"], *d["bbox"], d["score"], d["category_id"]] for d in dets_json])

    # name -> (prepare untimed, run timed); loadRes writes into the dicts it gets, COCOeval into
    # the ground-truth annotations: every bare run gets fresh copies, made outside the timer.
    def fresh_json() -> tuple[dict[str, Any], Any]:
        return copy.deepcopy(gt_dict), [dict(d, bbox=list(d["bbox"])) for d in dets_json]

    def fresh_array() -> tuple[dict[str, Any], Any]:
        return copy.deepcopy(gt_dict), dets_array.copy()

    def cold() -> tuple[Any, Any]:
        coco_metric._GT_CACHE.clear()
        return dataset, results

    def warm() -> tuple[Any, Any]:
        _metric(dataset, results, "faster_coco_eval")  # untimed: leaves the index cached
        return dataset, results

    contenders: dict[str, tuple[Callable[[], Any], Callable[[Any, Any], list[float]]]] = {
        "bare pycocotools (dicts given)": (fresh_json, lambda g, d: _bare(COCO, COCOeval, g, d)),
        "bare faster-coco-eval (dicts given)": (fresh_json, lambda g, d: _bare(FasterCOCO, COCOeval_faster, g, d)),
        "bare faster-coco-eval (Nx7 array given)": (fresh_array,
                                                    lambda g, d: _bare(FasterCOCO, COCOeval_faster, g, d)),
        "CocoMetric faster_coco_eval, first": (cold, lambda ds, r: _metric(ds, r, "faster_coco_eval")),
        "CocoMetric faster_coco_eval, again": (warm, lambda ds, r: _metric(ds, r, "faster_coco_eval")),
        "CocoMetric pycocotools, first": (cold, lambda ds, r: _metric(ds, r, "pycocotools")),
    }
    names = list(contenders)
    wall: dict[str, list[float]] = {n: [] for n in names}
    cpu: dict[str, list[float]] = {n: [] for n in names}
    stats: dict[str, list[float]] = {}
    for r in range(args.rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            prepare, run = contenders[name]
            inputs = prepare()
            gc.collect()
            start, start_cpu = time.perf_counter(), time.process_time()
            stats[name] = run(*inputs)
            cpu[name].append(time.process_time() - start_cpu)
            wall[name].append(time.perf_counter() - start)

    ref = np.array(stats["bare pycocotools (dicts given)"])
    med = {n: statistics.median(wall[n]) for n in names}
    med_cpu = {n: statistics.median(cpu[n]) for n in names}
    base, pyc = med_cpu["bare faster-coco-eval (dicts given)"], med_cpu["bare pycocotools (dicts given)"]
    header = (f"| {'contender (medians)':<40} | {'wall s':>7} | {'CPU s':>7} | {'x bare fce':>10} | {'x pycoco':>8} "
              f"| {'max |diff| vs pycocotools':<25} |")
    line = "+" + "-" * (len(header) - 2) + "+"
    print(line, header, line, sep="\n")
    for name in names:
        diff = float(np.abs(np.array(stats[name]) - ref).max())
        agree = "identical" if diff == 0 else f"{diff:.2e}"
        print(f"| {name:<40} | {med[name]:7.3f} | {med_cpu[name]:7.3f} | {med_cpu[name] / base:10.2f} "
              f"| {med_cpu[name] / pyc:8.2f} | {agree:<25} |")
    print(line)
    print("ratios of CPU seconds; all rounds, CPU s: "
          + "; ".join(f"{n}: " + " ".join(f"{t:.2f}" for t in cpu[n]) for n in names))
    print("bbox: " + " ".join(f"{k}={v:.3f}" for k, v in zip(ITEMS, ref)))


if __name__ == "__main__":
    main()
