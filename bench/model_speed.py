"""RetinaNet-R50-FPN speed: segdet against torchvision, same input size and thread count.

Prints one table: median training-step time (batch 2, 512x512, forward + backward + SGD step)
and inference time (batch 1), the ratio segdet / torchvision, the fraction of this machine's
float32 matmul rate each reaches, and segdet's time outside the network's own ops (target
assignment, losses, decoding, NMS, pre/post-processing) as a share of the step.

    OMP_NUM_THREADS=2 .venv/bin/python bench/model_speed.py [--iters 5] [--size 512]
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "retinanet" / "retinanet_r50_fpn_1x_coco.py"
NUM_CLASSES = 80


def _median_time(fn: Callable[[], Any], iters: int, warmup: int = 1) -> float:  # for the matmul rate
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _flops(fn: Callable[[], Any]) -> int:
    counter = FlopCounterMode(display=False)
    with counter:
        fn()
    return int(counter.get_total_flops())


def matmul_rate(n: int = 2048, iters: int = 5) -> float:
    """Float32 FLOP/s of a large ``torch.mm`` on this machine with the current thread count."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    t = _median_time(lambda: torch.mm(a, b), iters, warmup=2)
    return 2 * n**3 / t


def _targets(batch: int, size: int, gen: torch.Generator) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    boxes, labels = [], []
    for _ in range(batch):
        xy = torch.rand(6, 2, generator=gen) * size * 0.7
        wh = torch.rand(6, 2, generator=gen) * size * 0.3 + 16
        boxes.append(torch.cat([xy, (xy + wh).clamp(max=size - 1)], 1))
        labels.append(torch.randint(0, NUM_CLASSES, (6,), generator=gen))
    return boxes, labels


def build_segdet() -> torch.nn.Module:
    from segdet.config import Config
    from segdet.models.builder import build_model

    # No pretrained weights: speed does not depend on them and nothing is downloaded.
    cfg = Config.fromfile(str(CONFIG), cfg_options={"model.backbone.init_cfg": None})
    return build_model(cfg.model)


def build_torchvision(size: int) -> torch.nn.Module:
    from torchvision.models.detection import retinanet_resnet50_fpn

    # min/max size pin torchvision's internal resize to the benchmark's input size.
    return retinanet_resnet50_fpn(weights=None, weights_backbone=None, num_classes=NUM_CLASSES,
                                  min_size=size, max_size=size)


def segdet_steps(size: int) -> dict[str, Callable[[], Any]]:
    """Closures for segdet: full training step, network-only step, inference, network-only inference."""
    model = build_segdet()
    gen = torch.Generator().manual_seed(0)
    # The same pixels torchvision gets (uniform [0, 1]), normalised as its transform does, so
    # both heads see the same input distribution and pass comparable candidates to NMS.
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    img2 = (torch.rand(2, 3, size, size, generator=gen) - mean) / std
    img1 = img2[:1].clone()
    meta = {"img_shape": (size, size, 3), "pad_shape": (size, size, 3), "ori_shape": (size, size, 3),
            "scale_factor": [1.0, 1.0, 1.0, 1.0], "flip": False}
    boxes, labels = _targets(2, size, gen)
    opt = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)
    data = {"img": img2, "img_metas": [dict(meta), dict(meta)], "gt_bboxes": boxes, "gt_labels": labels}

    def train() -> None:
        model.train()
        out = model.train_step(data)
        opt.zero_grad(set_to_none=True)
        out["loss"].backward()
        opt.step()

    def train_net() -> None:
        # The same network work with a trivial loss: what remains of the step is overhead.
        model.train()
        cls, reg = model.forward_dummy(img2)
        loss = sum(c.float().mean() for c in cls) + sum(r.float().mean() for r in reg)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    @torch.no_grad()
    def infer() -> None:
        model.eval()
        model.simple_test(img1, [dict(meta)], rescale=True)

    @torch.no_grad()
    def infer_net() -> None:
        model.eval()
        model.forward_dummy(img1)

    return {"train": train, "train_net": train_net, "infer": infer, "infer_net": infer_net}


def torchvision_steps(size: int) -> dict[str, Callable[[], Any]]:
    """Closures for torchvision: training step and inference."""
    model = build_torchvision(size)
    gen = torch.Generator().manual_seed(0)
    imgs = list(torch.rand(2, 3, size, size, generator=gen).unbind(0))
    boxes, labels = _targets(2, size, gen)
    targets = [{"boxes": b, "labels": lab} for b, lab in zip(boxes, labels)]
    opt = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)

    def train() -> None:
        model.train()
        losses = model(imgs, targets)
        loss = sum(losses.values())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    @torch.no_grad()
    def infer() -> None:
        model.eval()
        model(imgs[:1])

    return {"train": train, "infer": infer}


def measure(steps: dict[str, dict[str, Callable[[], Any]]], iters: int) -> dict[str, dict[str, float]]:
    """Median seconds of every closure; the closures take turns so that load changes hit all alike."""
    times: dict[str, dict[str, list[float]]] = {who: {k: [] for k in fns} for who, fns in steps.items()}
    for fns in steps.values():  # warm-up
        for fn in fns.values():
            fn()
    for _ in range(iters):
        for who, fns in steps.items():
            for key, fn in fns.items():
                t0 = time.perf_counter()
                fn()
                times[who][key].append(time.perf_counter() - t0)
    return {who: {k: statistics.median(v) for k, v in d.items()} for who, d in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iters", type=int, default=5)
    parser.add_argument("--size", type=int, default=512)
    args = parser.parse_args()
    threads = int(os.environ.get("OMP_NUM_THREADS", torch.get_num_threads()))
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    peak = matmul_rate()
    steps = {"segdet": segdet_steps(args.size), "torchvision": torchvision_steps(args.size)}
    res = measure(steps, args.iters)
    sd, tv = res["segdet"], res["torchvision"]
    for who, fns in steps.items():
        res[who]["train_flops"] = _flops(fns["train"])
        res[who]["infer_flops"] = _flops(fns["infer"])

    print(f"RetinaNet-R50-FPN, {args.size}x{args.size}, {threads} threads, median of {args.iters}; "
          f"float32 matmul rate {peak / 1e9:.1f} GFLOP/s")
    print(f"{'':28}{'segdet':>12}{'torchvision':>14}{'ratio':>9}")
    for key, label in (("train", "train step, batch 2 (s)"), ("infer", "inference, batch 1 (s)")):
        print(f"{label:28}{sd[key]:12.3f}{tv[key]:14.3f}{sd[key] / tv[key]:9.2f}")
    for key, label in (("train", "train: of matmul rate"), ("infer", "infer: of matmul rate")):
        f_sd = sd[f"{key}_flops"] / sd[key] / peak
        f_tv = tv[f"{key}_flops"] / tv[key] / peak
        print(f"{label:28}{f_sd:12.1%}{f_tv:14.1%}")
    for key, label in (("train", "train GFLOP"), ("infer", "infer GFLOP")):
        print(f"{label:28}{sd[f'{key}_flops'] / 1e9:12.1f}{tv[f'{key}_flops'] / 1e9:14.1f}")
    train_over = max(sd["train"] - sd["train_net"], 0.0) / sd["train"]
    infer_over = max(sd["infer"] - sd["infer_net"], 0.0) / sd["infer"]
    print(f"segdet time outside the network: train {train_over:.1%}, inference {infer_over:.1%} "
          "(targets, losses, decoding, NMS; target < 5%)")
    ok = sd["train"] / tv["train"] <= 1.0 and sd["infer"] / tv["infer"] <= 1.0
    print(f"ratio target <= 1.0: {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
