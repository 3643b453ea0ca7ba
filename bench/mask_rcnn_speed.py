"""Mask R-CNN R50-FPN speed: segdet against torchvision, equal work, same input and thread count.

segdet builds ``configs/mask_rcnn/mask_rcnn_r50_fpn_1x_coco.py`` (frozen_stages=1, BN in eval mode
as the config says); torchvision builds ``maskrcnn_resnet50_fpn`` with ``trainable_backbone_layers=3``
and ``FrozenBatchNorm2d`` (the same frozen stem + stage 1, frozen statistics). Both get:

* proposals: train 2000 pre-NMS / 1000 post-NMS per image, test 1000 / 1000, RPN NMS IoU 0.7;
* RoI sampling 512 per image at 25% positives, RPN sampling 256 at 50%;
* RoIAlign with ``sampling_ratio=2`` (torchvision's ``MultiScaleRoIAlign``; segdet's configs use 0 =
  adaptive, overridden here so both sample the same number of points);
* 100 detections per image and score threshold 0, so that both paste exactly 100 masks (randomly
  initialised heads score below MMDetection's usual 0.05 and would otherwise skip the mask branch);
* the same seeded random pixels and the same few boxes + masks per image as targets.

Prints one table: median training-step time (batch 2, forward + backward + SGD step), inference
time (batch 1), the ratio segdet / torchvision (only when the FLOP counts agree within 1%), the
FLOP counts and the share of this machine's float32 matmul rate; then where each model's time goes
(backbone+FPN, RPN, RoI heads, rest).

    OMP_NUM_THREADS=2 .venv/bin/python bench/mask_rcnn_speed.py [--iters 3] [--size 512]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _peer import frozen_resnet50_fpn  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "mask_rcnn" / "mask_rcnn_r50_fpn_1x_coco.py"
NUM_CLASSES = 80
# Enough ground-truth boxes that both samplers reach their cap of 128 positives per image (the GT
# boxes join the proposals in both): with a handful, the positives each randomly initialised RPN
# happens to add decide how many RoIs reach the mask head, and the two steps do unequal work.
NUM_GT = 140
FLOP_TOLERANCE = 0.01


def _median_time(fn: Callable[[], Any], iters: int, warmup: int = 1) -> float:
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


def make_inputs(size: int) -> dict[str, Any]:
    """Seeded pixels in [0, 1] (batch 2) and per image ``NUM_GT`` boxes, labels and box-shaped
    elliptic masks; the same tensors go to both models."""
    gen = torch.Generator().manual_seed(0)
    imgs = torch.rand(2, 3, size, size, generator=gen)
    boxes, labels, masks = [], [], []
    yy, xx = torch.meshgrid(torch.arange(size, dtype=torch.float32) + 0.5,
                            torch.arange(size, dtype=torch.float32) + 0.5, indexing="ij")
    for _ in range(2):
        xy = torch.rand(NUM_GT, 2, generator=gen) * size * 0.6
        wh = torch.rand(NUM_GT, 2, generator=gen) * size * 0.3 + 32
        b = torch.cat([xy, (xy + wh).clamp(max=size - 1)], 1)
        cx, cy = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
        rx, ry = (b[:, 2] - b[:, 0]) / 2, (b[:, 3] - b[:, 1]) / 2
        inside = ((xx - cx.view(-1, 1, 1)) / rx.view(-1, 1, 1)) ** 2 + \
            ((yy - cy.view(-1, 1, 1)) / ry.view(-1, 1, 1)) ** 2 <= 1
        boxes.append(b)
        labels.append(torch.randint(0, NUM_CLASSES, (NUM_GT,), generator=gen))
        masks.append(inside.to(torch.uint8))
    return {"imgs": imgs, "boxes": boxes, "labels": labels, "masks": masks}


def build_segdet() -> Any:
    from segdet import Config, build_model

    options = {
        # No pretrained weights: speed does not depend on them and nothing is downloaded.
        "model.backbone.init_cfg": None,
        "model.roi_head.bbox_roi_extractor.roi_layer.sampling_ratio": 2,
        "model.roi_head.mask_roi_extractor.roi_layer.sampling_ratio": 2,
        "model.train_cfg.rpn_proposal.nms_pre": 2000,
        "model.train_cfg.rpn_proposal.max_per_img": 1000,
        "model.test_cfg.rpn.nms_pre": 1000,
        "model.test_cfg.rpn.max_per_img": 1000,
        "model.test_cfg.rcnn.max_per_img": 100,
        "model.test_cfg.rcnn.score_thr": 0.0,
    }
    cfg = Config.fromfile(str(CONFIG), cfg_options=options)
    model = build_model(cfg.model)
    if hasattr(model, "init_weights"):
        model.init_weights()
    return model


def build_torchvision(size: int) -> torch.nn.Module:
    from torchvision.models.detection import MaskRCNN

    # maskrcnn_resnet50_fpn(weights=None, norm_layer=FrozenBatchNorm2d, trainable_backbone_layers=3)
    # would build live BatchNorm2d with all layers trainable (see bench/_peer.py): assemble the
    # recipe's backbone instead. min/max size pin the internal resize to the input size (no resize).
    return MaskRCNN(
        frozen_resnet50_fpn(), num_classes=NUM_CLASSES + 1,  # + background
        min_size=size, max_size=size,
        rpn_pre_nms_top_n_train=2000, rpn_post_nms_top_n_train=1000,
        rpn_pre_nms_top_n_test=1000, rpn_post_nms_top_n_test=1000,
        box_detections_per_img=100, box_score_thresh=0.0)


def segdet_steps(size: int, inputs: dict[str, Any]) -> tuple[torch.nn.Module, dict[str, Callable[[], Any]]]:
    """segdet's model and closures: full training step and inference."""
    model = build_segdet()
    # The same pixels torchvision gets, normalised as its transform does.
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    img2 = (inputs["imgs"] - mean) / std
    img1 = img2[:1].clone()
    meta = {"img_shape": (size, size, 3), "pad_shape": (size, size, 3), "ori_shape": (size, size, 3),
            "scale_factor": [1.0, 1.0, 1.0, 1.0], "flip": False}
    labels = [lab.clone() for lab in inputs["labels"]]  # segdet: [0, 80); torchvision: [1, 80]
    data = {"img": img2, "img_metas": [dict(meta), dict(meta)], "gt_bboxes": inputs["boxes"],
            "gt_labels": labels, "gt_masks": inputs["masks"]}
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1e-4, momentum=0.9)

    def train() -> None:
        model.train()
        out = model.train_step(data)
        opt.zero_grad(set_to_none=True)
        out["loss"].backward()
        opt.step()

    @torch.no_grad()
    def infer() -> None:
        model.eval()
        res = model.simple_test(img1, [dict(meta)], rescale=True)
        _check_detections("segdet", res)

    return model, {"train": train, "infer": infer}


def _check_detections(who: str, res: Any) -> None:
    """Both models must paste 100 masks, or the inference comparison is not of equal work."""
    first = res[0]
    if isinstance(first, dict):
        n = int(first["masks"].shape[0])
    else:  # MMDetection tuple form: (per-class boxes, per-class masks)
        n = sum(len(b) for b in first[0])
    if n != 100:
        raise RuntimeError(f"{who} returned {n} detections instead of 100; the inference work differs")


def torchvision_steps(size: int, inputs: dict[str, Any]) -> tuple[torch.nn.Module, dict[str, Callable[[], Any]]]:
    """torchvision's model and closures: training step and inference."""
    model = build_torchvision(size)
    imgs = list(inputs["imgs"].unbind(0))
    targets = [{"boxes": b, "labels": lab + 1, "masks": m}
               for b, lab, m in zip(inputs["boxes"], inputs["labels"], inputs["masks"])]
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1e-4, momentum=0.9)

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
        out = model(imgs[:1])
        n = int(out[0]["masks"].shape[0])
        if n != 100:
            raise RuntimeError(f"torchvision returned {n} detections instead of 100; the inference work differs")

    return model, {"train": train, "infer": infer}


def measure(steps: dict[str, dict[str, Callable[[], Any]]], iters: int) -> dict[str, dict[str, float]]:
    """Median seconds of every closure; the closures take turns so that load changes hit all alike.
    The untimed warm-up call of each closure counts its FLOPs (``<key>_flops``)."""
    times: dict[str, dict[str, list[float]]] = {who: {k: [] for k in fns} for who, fns in steps.items()}
    flops: dict[str, dict[str, float]] = {who: {} for who in steps}
    for who, fns in steps.items():  # warm-up
        for key, fn in fns.items():
            flops[who][f"{key}_flops"] = _flops(fn)
    for _ in range(iters):
        for who, fns in steps.items():
            for key, fn in fns.items():
                t0 = time.perf_counter()
                fn()
                times[who][key].append(time.perf_counter() - t0)
    return {who: {**{k: statistics.median(v) for k, v in d.items()}, **flops[who]} for who, d in times.items()}


def _timed_parts(parts: dict[str, torch.nn.Module], fn: Callable[[], Any]) -> dict[str, float]:
    """Wall time of one call of ``fn`` spent inside each named top-level module's ``forward``
    (loss and proposal code included where the module's forward runs them), plus the rest."""
    spent: dict[str, float] = defaultdict(float)
    starts: dict[str, float] = {}
    handles = []
    for name, mod in parts.items():
        def pre(_m: Any, _a: Any, name: str = name) -> None:
            starts[name] = time.perf_counter()

        def post(_m: Any, _a: Any, _o: Any, name: str = name) -> None:
            spent[name] += time.perf_counter() - starts.pop(name)
        handles += [mod.register_forward_pre_hook(pre), mod.register_forward_hook(post)]
    t0 = time.perf_counter()
    try:
        fn()
    finally:
        for h in handles:
            h.remove()
    total = time.perf_counter() - t0
    spent["rest (backward, optimiser, glue)"] = total - sum(spent.values())
    return dict(spent)


def _timed_methods(obj_methods: dict[str, tuple[Any, str]], fn: Callable[[], Any]) -> dict[str, float]:
    """Like :func:`_timed_parts` for bound methods (``(object, method name)``), wrapped on the
    instance for the one call and restored after."""
    spent: dict[str, float] = defaultdict(float)
    for label, (obj, meth) in obj_methods.items():
        original = getattr(obj, meth)

        def wrapped(*a: Any, __f: Any = original, __l: str = label, **k: Any) -> Any:
            t = time.perf_counter()
            try:
                return __f(*a, **k)
            finally:
                spent[__l] += time.perf_counter() - t
        setattr(obj, meth, wrapped)
    t0 = time.perf_counter()
    try:
        fn()
    finally:
        for obj, meth in obj_methods.values():
            delattr(obj, meth)
    total = time.perf_counter() - t0
    spent["rest (backward, optimiser, glue)"] = total - sum(spent.values())
    return dict(spent)


def breakdown(sd_model: Any, sd: dict[str, Callable[[], Any]], tv_model: Any,
              tv: dict[str, Callable[[], Any]]) -> list[str]:
    """One timed call of each step, split over the top-level parts of each model."""
    lines = []
    for key in ("train", "infer"):
        if key == "train":
            sd_parts = {"backbone+FPN": (sd_model, "extract_feat"),
                        "RPN (head, loss, proposals)": (sd_model.rpn_head, "forward_train"),
                        "RoI heads (box+mask, losses)": (sd_model.roi_head, "forward_train")}
        else:
            sd_parts = {"backbone+FPN": (sd_model, "extract_feat"),
                        "RPN (head, loss, proposals)": (sd_model.rpn_head, "simple_test_rpn"),
                        "RoI heads (box+mask, losses)": (sd_model.roi_head, "simple_test")}
        a = _timed_methods(sd_parts, sd[key])
        b = _timed_parts({"transform": tv_model.transform, "backbone+FPN": tv_model.backbone,
                          "RPN (head, loss, proposals)": tv_model.rpn,
                          "RoI heads (box+mask, losses)": tv_model.roi_heads}, tv[key])
        lines.append(f"{key} step, one call (s){'segdet':>12}{'torchvision':>14}")
        for name in dict.fromkeys([*a, *b]):
            lines.append(f"  {name:30}{a.get(name, 0.0):12.3f}{b.get(name, 0.0):14.3f}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--iters", type=int, default=3)
    parser.add_argument("--size", type=int, default=512)
    args = parser.parse_args()
    threads = int(os.environ.get("OMP_NUM_THREADS", torch.get_num_threads()))
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    peak = matmul_rate()
    inputs = make_inputs(args.size)
    sd_model, sd_steps = segdet_steps(args.size, inputs)
    tv_model, tv_steps = torchvision_steps(args.size, inputs)
    steps = {"segdet": sd_steps, "torchvision": tv_steps}
    res = measure(steps, args.iters)
    sd, tv = res["segdet"], res["torchvision"]

    print(f"Mask R-CNN R50-FPN, {args.size}x{args.size}, {threads} threads, median of {args.iters}; "
          f"float32 matmul rate {peak / 1e9:.1f} GFLOP/s")
    print("equal work: frozen stem+stage 1, frozen BN; proposals train 2000/1000, test 1000/1000; "
          "100 detections (score_thr 0); RoIAlign sampling_ratio=2 on both (segdet's config says 0)")
    print(f"{'':28}{'segdet':>12}{'torchvision':>14}{'ratio':>9}")
    notes = []
    for key, label in (("train", "train step, batch 2 (s)"), ("infer", "inference, batch 1 (s)")):
        f_sd, f_tv = sd[f"{key}_flops"], tv[f"{key}_flops"]
        differ = abs(f_sd - f_tv) / max(f_tv, 1) > FLOP_TOLERANCE
        ratio = "   n/a" if differ else f"{sd[key] / tv[key]:9.2f}"
        if differ:
            notes.append(f"no {key} ratio: FLOP counts differ by {abs(f_sd - f_tv) / max(f_tv, 1):.1%} "
                         f"(> {FLOP_TOLERANCE:.0%}), the two models did not do the same work")
        print(f"{label:28}{sd[key]:12.3f}{tv[key]:14.3f}{ratio}")
    for key, label in (("train", "train GFLOP"), ("infer", "infer GFLOP")):
        print(f"{label:28}{sd[f'{key}_flops'] / 1e9:12.1f}{tv[f'{key}_flops'] / 1e9:14.1f}")
    for key, label in (("train", "train: of matmul rate"), ("infer", "infer: of matmul rate")):
        print(f"{label:28}{sd[f'{key}_flops'] / sd[key] / peak:12.1%}"
              f"{tv[f'{key}_flops'] / tv[key] / peak:14.1%}")
    for note in notes:
        print(note)
    print("where the time goes:")
    for line in breakdown(sd_model, sd_steps, tv_model, tv_steps):
        print(line)


if __name__ == "__main__":
    main()
