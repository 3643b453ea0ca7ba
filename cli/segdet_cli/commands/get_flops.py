"""``segdet get-flops CFG [--shape H W]``: parameters and FLOPs of a model, per module and in total.

FLOPs come from torch's own counter (``torch.utils.flop_counter.FlopCounterMode``), which counts a
multiply-add as 2 FLOPs (MMCV's counter reports multiply-adds, half of this number) and counts only
the operators it knows (convolutions, matmuls, attention, ...; not activations or normalisation).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from ._common import cfg_options_option, load_config

__all__ = ["get_flops", "count_flops"]


def _dummy_forward(model: Any, img: Any) -> Any:
    """The network part of ``model`` on ``img``: ``forward_dummy`` (detectors) or
    ``encode_decode`` (segmentors); post-processing such as NMS is not counted."""
    if hasattr(model, "forward_dummy"):
        return model.forward_dummy(img)
    if hasattr(model, "encode_decode"):
        h, w = img.shape[-2:]
        meta = dict(img_shape=(h, w, 3), ori_shape=(h, w, 3), pad_shape=(h, w, 3), flip=False,
                    scale_factor=1.0)
        return model.encode_decode(img, [meta] * img.shape[0])
    raise click.ClickException(
        f"{type(model).__name__} has neither forward_dummy (detectors) nor encode_decode (segmentors); "
        "get-flops cannot run it on a dummy image")


def count_flops(model: Any, shape: tuple[int, int]) -> tuple[dict[str, int], int]:
    """FLOPs of one ``(1, 3, H, W)`` forward of ``model``, per module path and in total.

    Returns:
        ``({'backbone': n, 'backbone.layer1': n, ...}, total)``; a module called several times
        (a head shared by FPN levels) holds the sum of its calls.
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    class _Run(torch.nn.Module):
        # called as a module so the counter names every submodule from the model's root
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, img: Any) -> Any:
            return _dummy_forward(self.model, img)

    device = next(iter(model.parameters()), torch.zeros(())).device
    img = torch.zeros(1, 3, *shape, device=device)
    counter = FlopCounterMode(display=False, depth=None)  # type: ignore[arg-type]  # None: every depth
    with torch.no_grad(), counter:
        _Run()(img)
    root = "_Run.model"
    per_module: dict[str, int] = {}
    for name, ops in counter.get_flop_counts().items():
        if name.startswith(root + "."):
            per_module[name[len(root) + 1:]] = int(sum(ops.values()))
    return per_module, int(counter.get_total_flops())


def _human(n: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.3f} {unit}"
    return f"{int(n)}"


def _rows(model: Any, flops: dict[str, int], total_flops: int, depth: int) -> list[tuple[str, int, int]]:
    rows = []
    for name, module in model.named_modules():
        if not name or name.count(".") >= depth:
            continue
        params = sum(p.numel() for p in module.parameters())
        rows.append((name, params, flops.get(name, 0)))
    return rows


@click.command("get-flops")
@click.argument("config", type=click.Path(dir_okay=False))
@click.option("--shape", nargs=2, type=int, default=(1280, 800), show_default=True, metavar="H W",
              help="Input image height and width.")
@click.option("--depth", type=click.IntRange(1, 8), default=2, show_default=True,
              help="Module levels listed (1: backbone/neck/head; 2: also their children).")
@click.option("--device", default="cpu", show_default=True, help="Device to run the dummy forward on.")
@cfg_options_option
def get_flops(config: str, shape: Sequence[int], depth: int, device: str, cfg_options: Sequence[str]) -> None:
    """Count parameters and FLOPs of the model of CONFIG on one H x W image, per module and in total.

    FLOPs are torch.utils.flop_counter's: a multiply-add counts 2 (MMCV's get_flops reports
    multiply-adds, i.e. half). Detectors run forward_dummy (no NMS), segmentors encode_decode.
    """
    import os

    if not os.path.isfile(config):
        raise click.ClickException(f"{config}: no such config file")
    h, w = (int(v) for v in shape)
    if h <= 0 or w <= 0:
        raise click.ClickException(f"--shape {h} {w}: height and width must be positive")
    cfg = load_config(config, cfg_options)
    from segdet.models.builder import build_model
    from segdet.registry.local import import_custom_modules

    import_custom_modules(cfg.get("custom_imports"), source=config)
    if "model" not in cfg:
        raise click.ClickException(f"{config}: no 'model' section")
    model_cfg = dict(cfg.model)
    if "pretrained" in model_cfg:
        model_cfg["pretrained"] = None  # counting needs no weights
    if isinstance(model_cfg.get("backbone"), dict) and "init_cfg" in model_cfg["backbone"]:
        model_cfg["backbone"] = dict(model_cfg["backbone"], init_cfg=None)
    model = build_model(model_cfg)
    model.to(device).eval()
    flops, total = count_flops(model, (h, w))
    rows = _rows(model, flops, total, depth)
    params_total = sum(p.numel() for p in model.parameters())
    width = max([len(r[0]) for r in rows] + [6])
    click.echo(f"Input shape: (1, 3, {h}, {w})   model: {type(model).__name__}")
    click.echo(f"{'module':<{width}}  {'params':>12}  {'FLOPs':>12}  {'FLOPs %':>7}")
    for name, params, f in rows:
        share = 100.0 * f / total if total else 0.0
        indent = "  " * name.count(".")
        click.echo(f"{indent + name:<{width}}  {_human(params):>12}  {_human(f):>12}  {share:>6.1f}%")
    click.echo(f"{'total':<{width}}  {_human(params_total):>12}  {_human(total):>12}  {'100.0':>6}%")
    click.echo(f"Params: {params_total}")
    click.echo(f"FLOPs: {total}")
    click.echo("(torch.utils.flop_counter: a multiply-add counts 2 FLOPs; NMS and other post-processing are "
               "not counted)")
