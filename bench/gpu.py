"""GPU throughput: RetinaNet and Mask R-CNN (R50-FPN) training and inference, segdet beside torchvision.

For each model, images/s of a training step (forward + backward + SGD step, batch 2) and of
inference (batch 2), in float32, AMP float16 (``torch.autocast`` + ``GradScaler``, segdet's
``AmpSettings``), channels-last memory format, and AMP with channels-last. Both libraries run
the same work: segdet builds ``configs/retinanet/retinanet_r50_fpn_1x_coco.py`` and
``configs/mask_rcnn/mask_rcnn_r50_fpn_1x_coco.py`` without pretrained weights (frozen stem +
stage 1, BatchNorm in eval mode, as the configs say); torchvision's peers get a ResNet-50 with
FrozenBatchNorm2d and trainable stages 2-4, the same FPN outputs, proposal counts, sampling and
100 detections per image (score threshold 0). Both FLOP counts are printed and the ratio column
is left out where they differ by more than 1%. Timings are bracketed by ``torch.cuda.synchronize``
after warm-up, the two libraries take turns, and each row is a median.

    .venv/bin/python bench/gpu.py [--iters 20] [--warmup 5] [--size 512] [--batch 2]
        [--models retinanet,mask_rcnn] [--modes fp32,amp-fp16,channels-last,amp-fp16+channels-last]
    .venv/bin/python bench/gpu.py --device cpu --dry-run   # the same code, one tiny step per row

Without a CUDA device it prints one line and exits 0 (``make bench`` runs every bench).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = {"retinanet": ROOT / "configs" / "retinanet" / "retinanet_r50_fpn_1x_coco.py",
           "mask_rcnn": ROOT / "configs" / "mask_rcnn" / "mask_rcnn_r50_fpn_1x_coco.py"}
TITLES = {"retinanet": "RetinaNet-R50-FPN", "mask_rcnn": "Mask R-CNN R50-FPN"}
DRY_TITLES = {"retinanet": "RetinaNet-R18-w32", "mask_rcnn": "Mask R-CNN R18-w32"}
NO_CUDA_LINE = "bench/gpu.py: no CUDA device (torch.cuda.is_available() is False); nothing measured"
NUM_CLASSES = 80
NUM_DETS = 100
# Mask R-CNN: enough ground truth that both samplers reach 128 positives per image (see
# bench/mask_rcnn_speed.py); RetinaNet: a few boxes, as bench/model_speed.py.
NUM_GT = {"retinanet": 6, "mask_rcnn": 140}
FLOP_TOLERANCE = 0.01
#: proposals and RoI samples per image, the same on both sides; a dry run uses fewer, since the
#: RoI heads' cost does not shrink with the image
PROPOSALS = {"train_pre": 2000, "train_post": 1000, "test_pre": 1000, "test_post": 1000, "rcnn_samples": 512}
DRY_PROPOSALS = {"train_pre": 200, "train_post": 100, "test_pre": 100, "test_post": 100, "rcnn_samples": 64}
#: a dry run's narrow peers, alike on both sides: ResNet-18, FPN and heads of this width, box-head FC
DRY_WIDTH, DRY_FC = 32, 64
#: name -> (autocast float16, channels-last)
MODES = {"fp32": (False, False), "amp-fp16": (True, False), "channels-last": (False, True),
         "amp-fp16+channels-last": (True, True)}

Step = Callable[[], Any]


def make_inputs(model: str, size: int, batch: int) -> dict[str, Any]:
    """Seeded pixels in [0, 1] and per image ``NUM_GT[model]`` boxes, labels and elliptic masks."""
    gen = torch.Generator().manual_seed(0)
    imgs = torch.rand(batch, 3, size, size, generator=gen)
    yy, xx = torch.meshgrid(torch.arange(size, dtype=torch.float32) + 0.5,
                            torch.arange(size, dtype=torch.float32) + 0.5, indexing="ij")
    boxes, labels, masks = [], [], []
    for _ in range(batch):
        n = NUM_GT[model]
        xy = torch.rand(n, 2, generator=gen) * size * 0.6
        wh = torch.rand(n, 2, generator=gen) * size * 0.3 + min(32, size // 4)
        b = torch.cat([xy, (xy + wh).clamp(max=size - 1)], 1)
        cx, cy = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
        rx, ry = (b[:, 2] - b[:, 0]) / 2, (b[:, 3] - b[:, 1]) / 2
        inside = ((xx - cx.view(-1, 1, 1)) / rx.view(-1, 1, 1)) ** 2 + \
            ((yy - cy.view(-1, 1, 1)) / ry.view(-1, 1, 1)) ** 2 <= 1
        boxes.append(b)
        labels.append(torch.randint(0, NUM_CLASSES, (n,), generator=gen))
        masks.append(inside.to(torch.uint8))
    return {"imgs": imgs, "boxes": boxes, "labels": labels, "masks": masks}


def build_segdet(model: str, proposals: dict[str, int], tiny: bool = False) -> nn.Module:
    from segdet import Config, build_model

    options: dict[str, Any] = {"model.backbone.init_cfg": None}  # no weights: nothing downloaded
    if tiny:
        w = DRY_WIDTH
        options.update({"model.backbone.depth": 18, "model.neck.in_channels": [64, 128, 256, 512],
                        "model.neck.out_channels": w})
        heads = (["bbox_head.in_channels", "bbox_head.feat_channels"] if model == "retinanet" else
                 ["rpn_head.in_channels", "rpn_head.feat_channels", "roi_head.bbox_roi_extractor.out_channels",
                  "roi_head.bbox_head.in_channels", "roi_head.mask_roi_extractor.out_channels",
                  "roi_head.mask_head.in_channels", "roi_head.mask_head.conv_out_channels"])
        options.update({f"model.{key}": w for key in heads})
        if model == "mask_rcnn":
            options["model.roi_head.bbox_head.fc_out_channels"] = DRY_FC
    if model == "retinanet":
        options.update({"model.test_cfg.score_thr": 0.0, "model.test_cfg.max_per_img": NUM_DETS})
    else:
        options.update({
            "model.roi_head.bbox_roi_extractor.roi_layer.sampling_ratio": 2,
            "model.roi_head.mask_roi_extractor.roi_layer.sampling_ratio": 2,
            "model.train_cfg.rpn_proposal.nms_pre": proposals["train_pre"],
            "model.train_cfg.rpn_proposal.max_per_img": proposals["train_post"],
            "model.train_cfg.rcnn.sampler.num": proposals["rcnn_samples"],
            "model.test_cfg.rpn.nms_pre": proposals["test_pre"],
            "model.test_cfg.rpn.max_per_img": proposals["test_post"],
            "model.test_cfg.rcnn.max_per_img": NUM_DETS, "model.test_cfg.rcnn.score_thr": 0.0})
    cfg = Config.fromfile(str(CONFIGS[model]), cfg_options=options)
    net = build_model(cfg.model)
    if hasattr(net, "init_weights"):
        net.init_weights()
    return net


def _frozen_resnet_fpn(returned_layers: list[int] | None, extra_blocks: Any, tiny: bool) -> nn.Module:
    """torchvision's ResNet-50 (tiny: ResNet-18) + FPN as its pretrained recipes train it:
    FrozenBatchNorm2d, stem and ``layer1`` frozen. Built from the pieces, because without weights
    torchvision's model builders switch to ``nn.BatchNorm2d`` and five trainable layers."""
    from torchvision.models import resnet18, resnet50
    from torchvision.models.detection.backbone_utils import BackboneWithFPN
    from torchvision.ops import FrozenBatchNorm2d
    from torchvision.ops.feature_pyramid_network import LastLevelMaxPool

    body = (resnet18 if tiny else resnet50)(weights=None, norm_layer=FrozenBatchNorm2d)
    for name, param in body.named_parameters():  # trainable_layers=3: stem and layer1 frozen
        if not name.startswith(("layer2.", "layer3.", "layer4.")):
            param.requires_grad_(False)
    returned = returned_layers or [1, 2, 3, 4]
    stage2 = body.inplanes // 8  # channels of layer1's output
    backbone = BackboneWithFPN(body, {f"layer{k}": str(v) for v, k in enumerate(returned)},
                               [stage2 * 2 ** (i - 1) for i in returned], DRY_WIDTH if tiny else 256,
                               extra_blocks=extra_blocks or LastLevelMaxPool())
    if any(isinstance(m, nn.BatchNorm2d) for m in backbone.modules()):
        raise RuntimeError("torchvision peer kept a live BatchNorm2d; the work would differ")
    return backbone


def build_torchvision(model: str, size: int, proposals: dict[str, int], tiny: bool = False) -> nn.Module:
    from torchvision.models.detection import MaskRCNN, RetinaNet
    from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
    from torchvision.models.detection.mask_rcnn import MaskRCNNHeads, MaskRCNNPredictor
    from torchvision.ops.feature_pyramid_network import LastLevelP6P7

    # min/max size pin torchvision's internal resize to the benchmark's input size (no resize)
    if model == "retinanet":  # P6 from C5, as segdet's add_extra_convs='on_input'
        extra = LastLevelP6P7(512, DRY_WIDTH) if tiny else LastLevelP6P7(2048, 256)
        return RetinaNet(_frozen_resnet_fpn([2, 3, 4], extra, tiny), NUM_CLASSES, min_size=size, max_size=size,
                         score_thresh=0.0, detections_per_img=NUM_DETS, topk_candidates=1000, nms_thresh=0.5)
    heads: dict[str, Any] = {"num_classes": NUM_CLASSES + 1}  # + background
    if tiny:
        w, classes = DRY_WIDTH, heads.pop("num_classes")
        heads.update(box_head=TwoMLPHead(w * 7 * 7, DRY_FC), box_predictor=FastRCNNPredictor(DRY_FC, classes),
                     mask_head=MaskRCNNHeads(w, [w] * 4, 1), mask_predictor=MaskRCNNPredictor(w, w, classes))
    return MaskRCNN(_frozen_resnet_fpn(None, None, tiny), **heads, min_size=size, max_size=size,
                    rpn_pre_nms_top_n_train=proposals["train_pre"], rpn_post_nms_top_n_train=proposals["train_post"],
                    rpn_pre_nms_top_n_test=proposals["test_pre"], rpn_post_nms_top_n_test=proposals["test_post"],
                    box_batch_size_per_image=proposals["rcnn_samples"],
                    box_detections_per_img=NUM_DETS, box_score_thresh=0.0)


def _amp(device: torch.device, enabled: bool) -> Any:
    from segdet.engine.amp import AmpSettings

    return AmpSettings(enabled, device.type, torch.float16 if enabled else None, "dynamic" if enabled else None)


def segdet_steps(net: nn.Module, inputs: dict[str, Any], device: torch.device, mode: str) -> dict[str, Step]:
    """Closures for one mode: ``train`` and ``infer``, inputs already on ``device``."""
    use_amp, channels_last = MODES[mode]
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    net.to(memory_format=fmt)
    size = inputs["imgs"].shape[-1]
    mean = torch.tensor([0.485, 0.456, 0.406], device=device).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225], device=device).view(1, 3, 1, 1)
    img = ((inputs["imgs"] - mean) / std).contiguous(memory_format=fmt)  # torchvision's normalisation
    meta = {"img_shape": (size, size, 3), "pad_shape": (size, size, 3), "ori_shape": (size, size, 3),
            "scale_factor": [1.0, 1.0, 1.0, 1.0], "flip": False}
    metas = [dict(meta) for _ in range(img.shape[0])]
    data = {"img": img, "img_metas": metas, "gt_bboxes": inputs["boxes"], "gt_labels": inputs["labels"]}
    if "gt_masks" in inputs:
        data["gt_masks"] = inputs["gt_masks"]
    amp = _amp(device, use_amp)
    scaler = amp.make_scaler()
    opt = torch.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=1e-4, momentum=0.9)

    def train() -> None:
        net.train()
        with amp.autocast():
            loss = net.train_step(data)["loss"]
        _backward_step(loss, opt, scaler)

    @torch.no_grad()
    def infer() -> None:
        net.eval()
        with amp.autocast():
            net.simple_test(img, metas, rescale=True)

    return {"train": train, "infer": infer}


def torchvision_steps(net: nn.Module, inputs: dict[str, Any], device: torch.device, mode: str) -> dict[str, Step]:
    use_amp, channels_last = MODES[mode]
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    net.to(memory_format=fmt)
    imgs = list(inputs["imgs"].unbind(0))  # (3, H, W) each: the weights' format decides the convs'
    targets = [{"boxes": b, "labels": lab + 1 if "gt_masks" in inputs else lab}
               for b, lab in zip(inputs["boxes"], inputs["labels"])]
    if "gt_masks" in inputs:  # torchvision's labels count the background as class 0
        for t, m in zip(targets, inputs["gt_masks"]):
            t["masks"] = m
    amp = _amp(device, use_amp)
    scaler = amp.make_scaler()
    opt = torch.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=1e-4, momentum=0.9)

    def train() -> None:
        net.train()
        with amp.autocast():
            loss = sum(net(imgs, targets).values())
        _backward_step(loss, opt, scaler)

    @torch.no_grad()
    def infer() -> None:
        net.eval()
        with amp.autocast():
            net(imgs)

    return {"train": train, "infer": infer}


def _backward_step(loss: torch.Tensor, opt: torch.optim.Optimizer, scaler: Any) -> None:
    opt.zero_grad(set_to_none=True)
    if scaler is None:
        loss.backward()
        opt.step()
        return
    scaler.scale(loss).backward()
    scaler.step(opt)
    scaler.update()


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _flops(fn: Step) -> int:
    counter = FlopCounterMode(display=False)
    with counter:
        fn()
    return int(counter.get_total_flops())


def measure(steps: dict[str, Step], device: torch.device, iters: int, warmup: int) -> dict[str, dict[str, float]]:
    """Median seconds and peak memory (MB, CUDA only) of each closure; warm-up calls are untimed,
    then the closures take turns so a change of clock or load hits all alike."""
    peak: dict[str, float] = {}
    for key, fn in steps.items():
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        for _ in range(max(warmup, 1)):
            fn()
        _sync(device)
        peak[key] = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else float("nan")
    times: dict[str, list[float]] = {key: [] for key in steps}
    for _ in range(iters):
        for key, fn in steps.items():
            _sync(device)
            t0 = time.perf_counter()
            fn()
            _sync(device)
            times[key].append(time.perf_counter() - t0)
    return {key: {"time": statistics.median(v), "peak_mb": peak[key]} for key, v in times.items()}


def run_model(model: str, args: argparse.Namespace, device: torch.device) -> list[str]:
    """Build both libraries' ``model``, count FLOPs, time every mode; the table lines."""
    inputs = make_inputs(model, args.size, args.batch)
    on_dev: dict[str, Any] = {"imgs": inputs["imgs"].to(device),
                              "boxes": [b.to(device) for b in inputs["boxes"]],
                              "labels": [lab.to(device) for lab in inputs["labels"]]}
    if model == "mask_rcnn":
        on_dev["gt_masks"] = [m.to(device) for m in inputs["masks"]]
    torch.manual_seed(0)
    proposals = DRY_PROPOSALS if args.dry_run else PROPOSALS
    nets = {"segdet": build_segdet(model, proposals, args.dry_run).to(device),
            "torchvision": build_torchvision(model, args.size, proposals, args.dry_run).to(device)}
    makers = {"segdet": segdet_steps, "torchvision": torchvision_steps}
    flops = {who: {k: _flops(fn) for k, fn in makers[who](nets[who], on_dev, device, "fp32").items()}
             for who in nets}
    lines, notes = [], []
    equal = {}
    for phase in ("train", "infer"):
        a, b = flops["segdet"][phase], flops["torchvision"][phase]
        gap = abs(a - b) / max(b, 1)
        equal[phase] = gap <= FLOP_TOLERANCE
        notes.append(f"  {phase} GFLOP per step: segdet {a / 1e9:.1f}, torchvision {b / 1e9:.1f} ({gap:.1%} apart)"
                     + ("" if equal[phase] else f": > {FLOP_TOLERANCE:.0%}, no ratio (unequal work)"))
    for mode in args.modes:
        steps = {f"{who}/{phase}": fn for who in nets
                 for phase, fn in makers[who](nets[who], on_dev, device, mode).items()}
        res = measure(steps, device, args.iters, args.warmup)
        for phase in ("train", "infer"):
            sd, tv = res[f"segdet/{phase}"], res[f"torchvision/{phase}"]
            ratio = f"{sd['time'] / tv['time']:7.2f}" if equal[phase] else f"{'n/a':>7}"
            mem = (f"{sd['peak_mb']:9.0f}{tv['peak_mb']:9.0f}" if device.type == "cuda" else "")
            title = DRY_TITLES[model] if args.dry_run else TITLES[model]
            lines.append(f"{title:20}{mode:24}{phase:7}{args.batch / sd['time']:9.3g}"
                         f"{args.batch / tv['time']:9.3g}{ratio}{mem}")
    return lines + notes


def _header(args: argparse.Namespace, device: torch.device) -> list[str]:
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        where = (f"{props.name} ({props.total_memory / 2**30:.0f} GiB), torch {torch.__version__}, "
                 f"CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}, "
                 f"cudnn.benchmark={torch.backends.cudnn.benchmark}, conv TF32={torch.backends.cudnn.allow_tf32}")
    else:
        where = f"cpu, torch {torch.__version__}, {torch.get_num_threads()} threads"
    lines = [f"GPU throughput: {where}",
             f"{args.size}x{args.size}, batch {args.batch}, median of {args.iters} after {args.warmup} "
             "warm-up steps; ratio = segdet time / torchvision time (< 1: segdet faster)"]
    if args.dry_run:
        lines.append(f"DRY RUN: the code path on {device.type} with narrow peers (ResNet-18, width {DRY_WIDTH}), "
                     f"fewer proposals ({DRY_PROPOSALS}) and one step per row; not a measurement")
    if device.type == "cpu" and any(MODES[m][0] for m in args.modes):
        lines.append("note: on the CPU, float16 autocast and GradScaler run (torch supports them) but are "
                     "emulated and slow; AMP rows mean something on a GPU only")
    mem = f"{'seg MB':>9}{'tv MB':>9}" if device.type == "cuda" else ""
    lines.append(f"{'model':20}{'mode':24}{'phase':7}{'segdet':>9}{'tv':>9}{'ratio':>7}{mem}   (images/s)")
    return lines


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--device", default="cuda", help="cuda (default), cuda:N, or cpu")
    parser.add_argument("--dry-run", action="store_true",
                        help="tiny size, one untimed warm-up and one timed step per row: checks the code path")
    parser.add_argument("--iters", type=int, default=None, help="timed steps per row (default 20; dry run 1)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed steps per closure (default 5; dry run 1)")
    parser.add_argument("--size", type=int, default=None, help="square input size (default 512; dry run 64)")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--models", default="retinanet,mask_rcnn")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--cudnn-benchmark", action="store_true", help="torch.backends.cudnn.benchmark=True")
    args = parser.parse_args(argv)
    args.iters = args.iters if args.iters is not None else (1 if args.dry_run else 20)
    args.warmup = args.warmup if args.warmup is not None else (1 if args.dry_run else 5)
    args.size = args.size if args.size is not None else (64 if args.dry_run else 512)
    args.models = [m for m in args.models.split(",") if m]
    args.modes = [m for m in args.modes.split(",") if m]
    for value, known, flag in ((args.models, CONFIGS, "--models"), (args.modes, MODES, "--modes")):
        unknown = [v for v in value if v not in known]
        if unknown:
            parser.error(f"{flag}: unknown {unknown}; choose from {', '.join(known)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print(NO_CUDA_LINE)
        return 0
    if device.type == "cuda":
        if device.index is None:
            device = torch.device("cuda", torch.cuda.current_device())
        torch.cuda.set_device(device)
        torch.backends.cudnn.benchmark = args.cudnn_benchmark
    for line in _header(args, device):
        print(line, flush=True)
    for model in args.models:
        for line in run_model(model, args, device):
            print(line, flush=True)
        if device.type == "cuda":  # the models and their closures are gone: hand their memory back
            torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main())
