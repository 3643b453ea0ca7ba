"""mIoU on large label maps: segdet's IoUMetric against plain numpy and plain torch confusion matrices.

    .venv/bin/python bench/seg_eval.py [--images 50] [--height 1024] [--width 2048] [--classes 19]
                                       [--distinct 10] [--rounds 3]

Cityscapes-sized data: ``--images`` predictions (int64 Tensors, as a segmentor returns them) and
uint8 label maps with ``--classes`` classes and ignore 255 (about 10% of the pixels). To keep the
memory of a shared machine low, ``--distinct`` different (prediction, label) pairs are cycled over
the images (every image still does the full work; use ``--distinct 50`` for 50 different maps).

Rows, each timed over the whole set from the predictions and label maps to mIoU:

- plain numpy: per image ``.numpy()`` of the prediction, ``valid = label != 255`` and
  ``np.bincount(K * label[valid] + pred[valid], minlength=K*K)``, summed; IoU from the matrix;
- plain torch: the same with ``torch.bincount`` on the prediction's device;
- IoUMetric.evaluate(results, dataset): segdet's metric as the evaluation hook runs it (per-class
  table built, logging silenced);
- IoUMetric.accumulate per image on the prediction's device, then compute(): the path of a test
  loop that hands each prediction over where the model left it (CPU here; the CUDA rows run
  when a GPU is present).

Rows run interleaved (order rotating each round), each after ``gc.collect()``; the table gives
median wall and process-CPU seconds, ratios of wall time to plain numpy and plain torch (and of
CPU time to plain numpy), and the largest difference of the per-class IoU from plain numpy's
(0 = identical). numpy is single-threaded; torch uses its intra-op threads, which on a shared
machine wait for cores (wall) and spin (CPU), so compare both columns.
"""
from __future__ import annotations

import argparse
import gc
import os
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch

from segdet.evaluation.iou_metric import IoUMetric


class _Labels:
    """The data-set surface IoUMetric.evaluate reads."""

    def __init__(self, labels: list[np.ndarray], n: int, classes: int) -> None:
        self.labels, self.n = labels, n
        self.CLASSES = tuple(f"class{i}" for i in range(classes))
        self.ignore_index = 255
        self.reduce_zero_label = False
        self.label_map = None

    def __len__(self) -> int:
        return self.n

    def get_gt_seg_map_by_idx(self, idx: int) -> np.ndarray:
        return self.labels[idx % len(self.labels)]


def make_data(distinct: int, h: int, w: int, k: int, seed: int) -> tuple[list[torch.Tensor], list[np.ndarray]]:
    """Label maps of blocky regions (about 10% ignore) and predictions right on about 80% of pixels."""
    rng = np.random.default_rng(seed)
    preds, labels = [], []
    for _ in range(distinct):
        coarse = rng.integers(0, k, (h // 32, w // 32)).astype(np.uint8)
        label = np.kron(coarse, np.ones((32, 32), np.uint8))
        label[rng.random((h, w)) < 0.1] = 255
        wrong = rng.random((h, w)) < 0.2
        pred = np.where(wrong, rng.integers(0, k, (h, w)), np.where(label == 255, 0, label)).astype(np.int64)
        preds.append(torch.from_numpy(pred))
        labels.append(label)
    return preds, labels


def _iou(conf: np.ndarray) -> np.ndarray:
    tp = np.diag(conf).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return tp / (conf.sum(0) + conf.sum(1) - tp)


def plain_numpy(preds: list[torch.Tensor], ds: _Labels, k: int) -> np.ndarray:
    conf = np.zeros((k, k), np.int64)
    for i in range(len(ds)):
        p = preds[i % len(preds)].numpy()
        g = ds.get_gt_seg_map_by_idx(i)
        valid = g != 255
        conf += np.bincount(k * g[valid].astype(np.int64) + p[valid], minlength=k * k).reshape(k, k)
    return _iou(conf)


def plain_torch(preds: list[torch.Tensor], ds: _Labels, k: int) -> np.ndarray:
    conf = torch.zeros(k * k, dtype=torch.int64, device=preds[0].device)
    for i in range(len(ds)):
        p = preds[i % len(preds)]
        g = torch.from_numpy(ds.get_gt_seg_map_by_idx(i)).to(p.device)
        valid = g != 255
        conf += torch.bincount(k * g[valid].long() + p[valid], minlength=k * k)
    return _iou(conf.view(k, k).cpu().numpy())


def metric_evaluate(preds: list[torch.Tensor], ds: _Labels, k: int) -> np.ndarray:
    out = IoUMetric().evaluate((preds[i % len(preds)] for i in range(len(ds))), ds, logger="silent")
    return np.array([out[f"IoU.{c}"] for c in ds.CLASSES])


def metric_accumulate(preds: list[torch.Tensor], ds: _Labels, k: int) -> np.ndarray:
    metric = IoUMetric(num_classes=k)
    for i in range(len(ds)):
        metric.accumulate(preds[i % len(preds)], ds.get_gt_seg_map_by_idx(i))
    return np.asarray(metric.compute()["IoU"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=50)
    parser.add_argument("--height", type=int, default=1024)
    parser.add_argument("--width", type=int, default=2048)
    parser.add_argument("--classes", type=int, default=19)
    parser.add_argument("--distinct", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    k = args.classes
    preds, labels = make_data(min(args.distinct, args.images), args.height, args.width, k, args.seed)
    ds = _Labels(labels, args.images, k)
    print(f"{args.images} maps of {args.height}x{args.width} ({len(preds)} distinct), {k} classes + ignore 255; "
          f"torch threads {torch.get_num_threads()}; median of {args.rounds} interleaved rounds; "
          f"load average {os.getloadavg()[0]:.2f}")

    def sync(device: str) -> Callable[[], None]:
        return torch.cuda.synchronize if device == "cuda" else (lambda: None)

    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    contenders: dict[str, tuple[Callable[..., np.ndarray], str]] = {"plain numpy": (plain_numpy, "cpu")}
    for dev in devices:
        contenders[f"plain torch ({dev})"] = (plain_torch, dev)
        contenders[f"IoUMetric.evaluate ({dev})"] = (metric_evaluate, dev)
        contenders[f"IoUMetric.accumulate per image ({dev})"] = (metric_accumulate, dev)
    on_device = {dev: [p.to(dev) for p in preds] for dev in devices}
    names = list(contenders)
    wall: dict[str, list[float]] = {n: [] for n in names}
    cpu: dict[str, list[float]] = {n: [] for n in names}
    ious: dict[str, np.ndarray] = {}
    for r in range(args.rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            fn, dev = contenders[name]
            gc.collect()
            sync(dev)()
            start, start_cpu = time.perf_counter(), time.process_time()
            ious[name] = fn(on_device[dev], ds, k)
            sync(dev)()
            cpu[name].append(time.process_time() - start_cpu)
            wall[name].append(time.perf_counter() - start)

    ref = ious["plain numpy"]
    med = {n: statistics.median(wall[n]) for n in names}
    med_cpu = {n: statistics.median(cpu[n]) for n in names}
    header = (f"| {'contender (medians)':<38} | {'wall s':>6} | {'CPU s':>6} | {'x numpy':>7} | {'x torch':>7} "
              f"| {'x numpy CPU':>11} | {'max |IoU diff| vs numpy':<23} |")
    line = "+" + "-" * (len(header) - 2) + "+"
    print(line, header, line, sep="\n")
    for name in names:
        dev = contenders[name][1]
        diff = float(np.nanmax(np.abs(ious[name] - ref)))
        same_nan = bool((np.isnan(ious[name]) == np.isnan(ref)).all())
        agree = "identical" if diff == 0 and same_nan else f"{diff:.2e}"
        print(f"| {name:<38} | {med[name]:6.3f} | {med_cpu[name]:6.3f} | {med[name] / med['plain numpy']:7.2f} "
              f"| {med[name] / med[f'plain torch ({dev})']:7.2f} | {med_cpu[name] / med_cpu['plain numpy']:11.2f} "
              f"| {agree:<23} |")
    print(line)
    print("all rounds, wall s: " + "; ".join(f"{n}: " + " ".join(f"{t:.2f}" for t in wall[n]) for n in names))
    print(f"mIoU {np.nanmean(ref):.4f}")


if __name__ == "__main__":
    main()
