"""RetinaNet-R50-FPN speed: segdet against torchvision on equal work, same input and thread count.

segdet builds ``configs/retinanet/retinanet_r50_fpn_1x_coco.py`` (frozen_stages=1, BatchNorm with
norm_eval, extra P6 conv on C5). torchvision's peer is built as its pretrained recipe trains:
ResNet-50 with ``FrozenBatchNorm2d``, stem + ``layer1`` frozen (``trainable_layers=3``, see
``bench/_peer.py``), FPN on stages 2-4 and ``LastLevelP6P7(2048, 256)`` (P6 from C5, as segdet's
``add_extra_convs='on_input'``). Both: 512x512, training batch 2 with the same seeded boxes,
inference batch 1 with score threshold 0 and 1000 candidates per level (randomly initialised heads
score about 0.01, so at MMDetection's 0.05 neither would decode or suppress anything), per-class NMS
0.5 and 100 detections (checked on both).

Rows: the default path, then each option of ``segdet.apis`` alone: ``fuse_conv_bn`` (inference),
``to_channels_last`` and ``compile_model`` (applied alike to the torchvision peer where it takes
the same call, so the ratio stays one of equal work). A ratio is printed only when both FLOP counts
agree within 1%. Then segdet's time outside the network and, per model, where one call's time goes.

    OMP_NUM_THREADS=2 .venv/bin/python bench/model_speed.py [--iters 5] [--size 512]
        [--rows default,fuse-conv-bn,channels-last,compile] [--profile]
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
CONFIG = ROOT / "configs" / "retinanet" / "retinanet_r50_fpn_1x_coco.py"
NUM_CLASSES = 80
NUM_DETS = 100
FLOP_TOLERANCE = 0.01
TARGETS = {"train": 0.95, "infer": 0.90}
ROWS = ("default", "fuse-conv-bn", "channels-last", "compile")

Step = Callable[[], Any]


def _flops(fn: Step) -> int:
    counter = FlopCounterMode(display=False)
    with counter:
        fn()
    return int(counter.get_total_flops())


def matmul_rate(n: int = 2048, iters: int = 5) -> float:
    """Float32 FLOP/s of a large ``torch.mm`` on this machine with the current thread count."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        torch.mm(a, b)
        times.append(time.perf_counter() - t0)
    return 2 * n**3 / statistics.median(times)


def make_inputs(size: int) -> dict[str, Any]:
    """Seeded pixels in [0, 1] (batch 2) and six boxes + labels per image, shared by both models."""
    gen = torch.Generator().manual_seed(0)
    imgs = torch.rand(2, 3, size, size, generator=gen)
    boxes, labels = [], []
    for _ in range(2):
        xy = torch.rand(6, 2, generator=gen) * size * 0.7
        wh = torch.rand(6, 2, generator=gen) * size * 0.3 + 16
        boxes.append(torch.cat([xy, (xy + wh).clamp(max=size - 1)], 1))
        labels.append(torch.randint(0, NUM_CLASSES, (6,), generator=gen))
    return {"imgs": imgs, "boxes": boxes, "labels": labels}


def build_segdet() -> Any:
    from segdet import Config, build_model

    options = {
        "model.backbone.init_cfg": None,  # no pretrained weights: nothing is downloaded
        "model.test_cfg.score_thr": 0.0,
        "model.test_cfg.max_per_img": NUM_DETS,
    }
    cfg = Config.fromfile(str(CONFIG), cfg_options=options)
    model = build_model(cfg.model)
    model.init_weights()
    return model


def build_torchvision(size: int) -> torch.nn.Module:
    from torchvision.models.detection import RetinaNet
    from torchvision.ops.feature_pyramid_network import LastLevelP6P7

    backbone = frozen_resnet50_fpn(returned_layers=[2, 3, 4], extra_blocks=LastLevelP6P7(2048, 256))
    # min/max size pin torchvision's internal resize to the benchmark's input size (no resize).
    return RetinaNet(backbone, NUM_CLASSES, min_size=size, max_size=size, score_thresh=0.0,
                     detections_per_img=NUM_DETS, topk_candidates=1000, nms_thresh=0.5)


def _check(who: str, n: int) -> None:
    if n != NUM_DETS:
        raise RuntimeError(f"{who} returned {n} detections instead of {NUM_DETS}; the inference work differs")


def segdet_steps(model: Any, inputs: dict[str, Any], size: int,
                 channels_last: bool = False) -> dict[str, Step]:
    """Closures: training step, the same network with a trivial loss, inference, network-only inference."""
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    img2 = (inputs["imgs"] - mean) / std  # the pixels torchvision gets, normalised as its transform does
    if channels_last:
        img2 = img2.contiguous(memory_format=torch.channels_last)
    img1 = img2[:1].clone(memory_format=torch.preserve_format)
    meta = {"img_shape": (size, size, 3), "pad_shape": (size, size, 3), "ori_shape": (size, size, 3),
            "scale_factor": [1.0, 1.0, 1.0, 1.0], "flip": False}
    data = {"img": img2, "img_metas": [dict(meta), dict(meta)], "gt_bboxes": inputs["boxes"],
            "gt_labels": inputs["labels"]}
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1e-4, momentum=0.9)

    def train() -> None:
        model.train()
        out = model.train_step(data)
        opt.zero_grad(set_to_none=True)
        out["loss"].backward()
        opt.step()

    def train_net() -> None:
        model.train()
        cls, reg = model.forward_dummy(img2)
        loss = sum(c.float().mean() for c in cls) + sum(r.float().mean() for r in reg)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    @torch.no_grad()
    def infer() -> None:
        model.eval()
        _check("segdet", int(model.simple_test(img1, [dict(meta)], rescale=True)[0]["bboxes"].shape[0]))

    @torch.no_grad()
    def infer_net() -> None:
        model.eval()
        model.forward_dummy(img1)

    return {"train": train, "train_net": train_net, "infer": infer, "infer_net": infer_net}


def torchvision_steps(model: torch.nn.Module, inputs: dict[str, Any],
                      channels_last: bool = False) -> dict[str, Step]:
    """Closures: training step and inference."""
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    imgs = [i.unsqueeze(0).contiguous(memory_format=fmt)[0] for i in inputs["imgs"].unbind(0)]
    targets = [{"boxes": b, "labels": lab} for b, lab in zip(inputs["boxes"], inputs["labels"])]
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1e-4, momentum=0.9)

    def train() -> None:
        model.train()
        loss = sum(model(imgs, targets).values())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    @torch.no_grad()
    def infer() -> None:
        model.eval()
        _check("torchvision", int(model(imgs[:1])[0]["boxes"].shape[0]))

    return {"train": train, "infer": infer}


def _speedups() -> Any:
    """``segdet.apis`` with ``fuse_conv_bn``, ``to_channels_last``, ``compile_model``, or the reason it lacks them."""
    try:
        import segdet.apis as apis
    except ImportError as err:  # pragma: no cover - the core always ships segdet.apis
        return f"segdet.apis does not import: {err}"
    missing = [n for n in ("fuse_conv_bn", "to_channels_last", "compile_model") if not hasattr(apis, n)]
    if missing:
        return f"segdet.apis has no {', '.join(missing)} (yet)"
    return apis


def build_rows(names: list[str], inputs: dict[str, Any], size: int) -> dict[str, Any]:
    """Per row: segdet closures, torchvision closures, models, and an ``unavailable`` reason."""
    rows: dict[str, Any] = {}
    apis = _speedups()
    for name in names:
        sd_model, tv_model = build_segdet(), build_torchvision(size)
        row: dict[str, Any] = {"sd_model": sd_model, "tv_model": tv_model, "keys": ("train", "infer")}
        cl = False
        if name != "default":
            if isinstance(apis, str):
                rows[name] = {"unavailable": apis}
                continue
            try:
                # every option works in place, as `segdet test/train` apply it
                if name == "fuse-conv-bn":
                    row["keys"] = ("infer",)  # folds eval statistics: an inference-only transform
                    row["folded"] = (apis.fuse_conv_bn(sd_model.eval()), apis.fuse_conv_bn(tv_model.eval()))
                elif name == "channels-last":
                    cl = True
                    apis.to_channels_last(sd_model)
                    apis.to_channels_last(tv_model)
                elif name == "compile":
                    # segdet's default parts (backbone, neck); torchvision's `backbone` holds both
                    apis.compile_model(sd_model)
                    apis.compile_model(tv_model, parts=("backbone",))
            except Exception as err:  # noqa: BLE001 - the row reports any failure of the option
                rows[name] = {"unavailable": f"{type(err).__name__}: {err}".splitlines()[0][:200]}
                continue
        row["sd"] = segdet_steps(sd_model, inputs, size, channels_last=cl)
        row["tv"] = torchvision_steps(tv_model, inputs, channels_last=cl)
        row["sd_model"], row["tv_model"] = sd_model, tv_model
        rows[name] = row
    return rows


def warm_up(rows: dict[str, Any]) -> None:
    """One untimed call of every closure (compilation happens here), then the FLOP counts."""
    for name, row in list(rows.items()):
        if "unavailable" in row:
            continue
        try:
            for key in row["keys"]:
                row["sd"][key]()
                row["tv"][key]()
                if name != "default":
                    row["sd"].pop(f"{key}_net", None)
        except Exception as err:  # noqa: BLE001 - e.g. torch.compile without a working C++ compiler
            rows[name] = {"unavailable": f"{type(err).__name__}: {err}".splitlines()[0][:200]}
            continue
        if name == "compile":  # the FLOP counter does not see inside compiled graphs: the eager counts hold
            continue
        for key in row["keys"]:
            row[f"sd_{key}_flops"] = _flops(row["sd"][key])
            row[f"tv_{key}_flops"] = _flops(row["tv"][key])


def measure(rows: dict[str, Any], iters: int) -> None:
    """Median seconds of every closure, and the median of the per-iteration ratios segdet /
    torchvision. All closures take turns, in reversed order every other iteration (ABBA), so a
    load that rises or falls through the run favours neither model; the paired ratio of two
    neighbouring calls is steadier than a ratio of medians on a shared machine."""
    calls = []
    for name, row in rows.items():
        if "unavailable" in row:
            continue
        for key in row["keys"]:
            calls += [(name, "sd", key), (name, "tv", key)]
            if name == "default":
                calls.append((name, "sd", f"{key}_net"))
    times: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for i in range(iters):
        for name, who, k in (calls if i % 2 == 0 else calls[::-1]):
            t0 = time.perf_counter()
            rows[name][who][k]()
            times[(name, who, k)].append(time.perf_counter() - t0)
    for (name, who, k), v in times.items():
        rows[name][f"{who}_{k}_s"] = statistics.median(v)
    for name, row in rows.items():
        for key in row.get("keys", ()):
            pairs = zip(times[(name, "sd", key)], times[(name, "tv", key)])
            row[f"{key}_ratio"] = statistics.median(a / b for a, b in pairs)


def _timed(parts: dict[str, Any], fn: Step) -> dict[str, float]:
    """Wall time of one call of ``fn`` inside each part: a module (forward hooks) or ``(object,
    method name)`` (wrapped on the instance for the call); the remainder is ``rest``."""
    spent: dict[str, float] = defaultdict(float)
    starts: dict[str, float] = {}
    handles, wrapped = [], []
    for label, part in parts.items():
        if isinstance(part, torch.nn.Module):
            def pre(_m: Any, _a: Any, label: str = label) -> None:
                starts[label] = time.perf_counter()

            def post(_m: Any, _a: Any, _o: Any, label: str = label) -> None:
                spent[label] += time.perf_counter() - starts.pop(label)
            handles += [part.register_forward_pre_hook(pre), part.register_forward_hook(post)]
        else:
            obj, meth = part
            original = getattr(obj, meth)

            def call(*a: Any, __f: Any = original, __l: str = label, **k: Any) -> Any:
                t = time.perf_counter()
                try:
                    return __f(*a, **k)
                finally:
                    spent[__l] += time.perf_counter() - t
            setattr(obj, meth, call)
            wrapped.append((obj, meth))
    t0 = time.perf_counter()
    try:
        fn()
    finally:
        for h in handles:
            h.remove()
        for obj, meth in wrapped:
            delattr(obj, meth)
    spent["rest (backward, optimiser, glue)"] = time.perf_counter() - t0 - sum(spent.values())
    return dict(spent)


def breakdown(row: dict[str, Any]) -> list[str]:
    """One timed call of each default step, split over the parts of each model."""
    sd_m, tv_m = row["sd_model"], row["tv_model"]
    lines = []
    for key in ("train", "infer"):
        post = (sd_m.bbox_head, "loss") if key == "train" else (sd_m.bbox_head, "get_bboxes")
        tv_post = (tv_m, "compute_loss") if key == "train" else (tv_m, "postprocess_detections")
        a = _timed({"backbone": sd_m.backbone, "FPN": sd_m.neck, "head convs": sd_m.bbox_head,
                    "loss / post-processing": post}, row["sd"][key])
        b = _timed({"transform": tv_m.transform, "backbone": tv_m.backbone.body, "FPN": tv_m.backbone.fpn,
                    "head convs": tv_m.head, "anchors": tv_m.anchor_generator,
                    "loss / post-processing": tv_post}, row["tv"][key])
        lines.append(f"{key} step, one call (s)          {'segdet':>12}{'torchvision':>14}")
        for name in dict.fromkeys([*a, *b]):
            lines.append(f"  {name:34}{a.get(name, 0.0):12.3f}{b.get(name, 0.0):14.3f}")
    return lines


def profile_ops(row: dict[str, Any], top: int = 12) -> list[str]:
    """The ``top`` aten ops by self CPU time of one call of each step, both models."""
    from torch.profiler import ProfilerActivity, profile

    lines = []
    for key in ("train", "infer"):
        for who in ("sd", "tv"):
            with profile(activities=[ProfilerActivity.CPU]) as prof:
                row[who][key]()
            events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
            total = sum(e.self_cpu_time_total for e in events) / 1e6
            label = "segdet" if who == "sd" else "torchvision"
            lines.append(f"{key}, {label}: {total:.2f} s CPU in ops; top ops by self time (s, calls)")
            lines.append("  " + ", ".join(f"{e.key.replace('aten::', '')} {e.self_cpu_time_total / 1e6:.2f} "
                                          f"({e.count})" for e in events[:top]))
    return lines


def _ratio_cell(row: dict[str, Any], key: str, notes: list[str], name: str) -> tuple[str, float | None]:
    f_sd, f_tv = row.get(f"sd_{key}_flops"), row.get(f"tv_{key}_flops")
    if f_sd is not None and f_tv is not None:
        gap = abs(f_sd - f_tv) / max(f_tv, 1)
        if gap > FLOP_TOLERANCE:
            notes.append(f"no {name} {key} ratio: FLOP counts differ by {gap:.1%} (> {FLOP_TOLERANCE:.0%}); "
                         "the two models did not do the same work")
            return "n/a", None
    ratio = row[f"{key}_ratio"]
    return f"{ratio:.2f}", ratio


def report(rows: dict[str, Any], args: argparse.Namespace, threads: int, peak: float) -> None:
    print(f"RetinaNet-R50-FPN, {args.size}x{args.size}, {threads} threads, median of {args.iters}; "
          f"float32 matmul rate {peak / 1e9:.1f} GFLOP/s; load average {os.getloadavg()[0]:.1f}")
    print("equal work: torchvision peer with FrozenBatchNorm2d, stem+layer1 frozen, P6 from C5; "
          f"inference score_thr 0, 1000 candidates per level, {NUM_DETS} detections on both")
    print("times: medians; ratio: median of the per-iteration ratios of neighbouring calls (ABBA order)")
    print(f"{'':34}{'segdet':>10}{'torchvision':>13}{'ratio':>8}{'target':>9}")
    notes: list[str] = []
    verdicts: dict[str, list[str]] = {"train": [], "infer": []}
    for key, what in (("train", "train step, batch 2"), ("infer", "inference, batch 1")):
        for name, row in rows.items():
            label = f"{what}, {name} (s)"
            if "unavailable" in row:
                print(f"{label:34}unavailable: {row['unavailable']}")
                continue
            if key not in row["keys"]:
                continue
            cell, ratio = _ratio_cell(row, key, notes, name)
            ok = "" if ratio is None else ("met" if ratio <= TARGETS[key] else "NOT met")
            verdicts[key].append(f"{name} {cell} {ok or 'no ratio'}")
            print(f"{label:34}{row[f'sd_{key}_s']:10.3f}{row[f'tv_{key}_s']:13.3f}{cell:>8}{ok:>9}")
    for name, row in rows.items():
        for key in row.get("keys", ()):
            if f"sd_{key}_flops" in row:
                sd_f, tv_f = row[f"sd_{key}_flops"], row[f"tv_{key}_flops"]
                print(f"{key + ' GFLOP, ' + name:34}{sd_f / 1e9:10.1f}{tv_f / 1e9:13.1f}")
    default = rows.get("default", {})
    if "sd_train_flops" in default:
        for key in ("train", "infer"):
            print(f"{key + ': of matmul rate':34}{default[f'sd_{key}_flops'] / default[f'sd_{key}_s'] / peak:10.1%}"
                  f"{default[f'tv_{key}_flops'] / default[f'tv_{key}_s'] / peak:13.1%}")
        train_over = max(default["sd_train_s"] - default["sd_train_net_s"], 0.0) / default["sd_train_s"]
        infer_over = max(default["sd_infer_s"] - default["sd_infer_net_s"], 0.0) / default["sd_infer_s"]
        print(f"segdet time outside the network: train {train_over:.1%}, inference {infer_over:.1%} "
              "(targets, losses, decoding, NMS)")
    if "folded" in rows.get("fuse-conv-bn", {}):
        print("fuse-conv-bn folded {} BatchNorm layers in segdet, {} in torchvision".format(
            *rows["fuse-conv-bn"]["folded"]))
    for note in notes:
        print(note)
    for key in ("train", "infer"):
        what = "training" if key == "train" else "inference"
        print(f"target {what} <= {TARGETS[key]:.2f}x torchvision: " + "; ".join(verdicts[key] or ["no rows"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--iters", type=int, default=5)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--rows", default=",".join(ROWS), help=f"comma-separated subset of {','.join(ROWS)}")
    parser.add_argument("--profile", action="store_true", help="also print the top aten ops of each default step")
    args = parser.parse_args()
    names = [r for r in args.rows.split(",") if r]
    unknown = sorted(set(names) - set(ROWS))
    if unknown:
        parser.error(f"unknown rows {unknown}; choose from {list(ROWS)}")
    threads = int(os.environ.get("OMP_NUM_THREADS", torch.get_num_threads()))
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    peak = matmul_rate()
    inputs = make_inputs(args.size)
    rows = build_rows(names, inputs, args.size)
    warm_up(rows)
    measure(rows, args.iters)
    report(rows, args, threads, peak)
    if "default" in rows:
        print("where the time goes (one call each, forward parts; backward and optimiser in rest):")
        for line in breakdown(rows["default"]):
            print(line)
        if args.profile:
            for line in profile_ops(rows["default"]):
                print(line)


if __name__ == "__main__":
    main()
