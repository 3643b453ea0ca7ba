"""``segdet test CONFIG CHECKPOINT``: MMDetection's tools/test.py as a command."""
from __future__ import annotations

import copy
import json
import os
import time
from collections.abc import Mapping, Sequence
from typing import Any

import click

from segdet.config import to_plain

from ._common import GreedyOption, cfg_options_option, fail, load_config
from ._mmcompat import (
    LAUNCHER_CHOICES,
    apply_speedups,
    compile_error_message,
    gpu_options,
    overlay_segmentation,
    refuse_show,
    resolve_gpu_device,
    speedup_options,
)
from .train import _check_config, shapes_hint

__all__ = ["test", "enable_aug_test", "save_results"]

_AUG_RATIOS = (0.75, 1.0, 1.25)
SEG_AUG_RATIOS = (0.5, 0.75, 1.0, 1.25, 1.5, 1.75)  # MMSegmentation 0.x tools/test.py --aug-test


def _scaled(scale: Any, ratio: float) -> tuple[int, int]:
    w, h = scale
    return int(round(w * ratio)), int(round(h * ratio))


def enable_aug_test(pipeline: list[Any], ratios: Sequence[float] = _AUG_RATIOS, force_ratios: bool = False) -> bool:
    """Switch every ``MultiScaleFlipAug`` of ``pipeline`` to several scales plus flip, in place.

    Steps that use ``img_ratios`` (MMSegmentation style) get ``img_ratios=ratios``; otherwise the
    configured ``img_scale`` becomes ``[scale * r for r in ratios]``. Returns whether one was found.
    """
    found = False
    for step in pipeline:
        if not isinstance(step, dict) or step.get("type") != "MultiScaleFlipAug":
            continue
        found = True
        step["flip"] = True
        if force_ratios or "img_ratios" in step or step.get("img_scale") is None:
            step["img_ratios"] = list(ratios)
            continue
        scale = step["img_scale"]
        if isinstance(scale, list) and len(scale) > 1:
            continue  # already several scales
        base = scale[0] if isinstance(scale, list) else scale
        step["img_scale"] = [_scaled(base, r) for r in ratios]
        step.pop("scale_factor", None)
    return found


def _to_plain_python(obj: Any) -> Any:
    import numpy as np
    import torch

    if isinstance(obj, torch.Tensor):
        return obj.tolist()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Mapping):
        return {k: _to_plain_python(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_to_plain_python(v) for v in obj]
    return obj


def save_results(results: list[Any], out: str) -> None:
    """``.pkl``: the results with their tensors, written by ``torch.save`` so that reading them back
    (``torch.load(weights_only=True)``, as ``segdet confusion-matrix`` does) never runs code;
    ``.json``: lists of numbers."""
    import torch

    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    if out.endswith((".pkl", ".pickle")):
        torch.save(results, out)
    elif out.endswith(".json"):
        with open(out, "w") as f:
            json.dump(_to_plain_python(results), f)
    else:
        fail(f"--out must end with .pkl, .pickle or .json, got {out!r}")


MIN_LOADED_FRACTION = 0.5


def _load_weights(model: Any, checkpoint: str, logger: Any) -> dict:
    import torch

    from segdet.engine.checkpoint import load_weights

    # Evaluating a model of which most tensors stayed random is never what was meant: an error
    # naming the file and how much matched (fine-tuned heads of another size still load).
    ckpt, _ = load_weights(model, checkpoint, map_location="cpu", logger=logger,
                           min_loaded_fraction=MIN_LOADED_FRACTION)
    state = ckpt.get("state_dict", {})
    # A training hook may name, per parameter, the state-dict entry to test with (EMAHook's
    # averaged weights); the CLI follows that map and knows no hook's naming.
    sources = (ckpt.get("meta") or {}).get("test_param_sources") or {}
    chosen = {name: state[src] for name, src in sources.items() if src in state}
    if chosen:
        logger.info(f"{checkpoint} names {len(chosen)} test-time parameter sources "
                    f"(meta.test_param_sources, e.g. EMA weights); testing with them")
        with torch.no_grad():
            for name, param in model.named_parameters():
                if name in chosen:
                    param.copy_(chosen[name])
    return ckpt


@click.command("test")
@click.argument("config", type=click.Path(exists=True, dir_okay=False))
@click.argument("checkpoint", type=click.Path(exists=True, dir_okay=False))
@click.option("--eval", "evals", cls=GreedyOption, multiple=True, metavar="METRIC ...",
              help="Metrics to compute: short names (--eval bbox segm, mIoU) or metric classes "
                   "of the segdet.metrics group (--eval CocoMetric MyMetric).")
@click.option("--out", default=None, help="Write the raw results to a .pkl or .json file.")
@click.option("--format-only", is_flag=True,
              help="Only write the results in the data set's format (COCO: <jsonfile_prefix>.bbox.json "
                   "and .segm.json), no metrics.")
@click.option("--aug-test", is_flag=True,
              help="Multi-scale + flip test-time augmentation: image ratios 0.5, 0.75, 1.0, 1.25, 1.5, 1.75 for "
                   "segmentors (MMSegmentation's test.py), scales x0.75, x1, x1.25 for detectors.")
@click.option("--show", is_flag=True, help="MMDetection's window per image: not available, use --show-dir.")
@click.option("--show-dir", default=None, help="Write images with predictions drawn into this folder.")
@click.option("--show-score-thr", type=float, default=0.3, show_default=True,
              help="Boxes drawn by --show-dir have at least this score.")
@click.option("--opacity", type=click.FloatRange(0.0, 1.0, min_open=True), default=0.5, show_default=True,
              help="Opacity of the segmentation map drawn by --show-dir, in (0, 1].")
@click.option("--tmpdir", default=None,
              help="MMDetection's folder for gathering results across ranks on the CPU (see docs/MMDET_COMPAT.md).")
@click.option("--gpu-collect", is_flag=True,
              help="Gather the ranks' results over the distributed backend (see docs/MMDET_COMPAT.md).")
@speedup_options(with_fuse=True)
@click.option("--work-dir", default=None, help="Also write the metrics as eval_<timestamp>.json here.")
@cfg_options_option
@click.option("--eval-options", "eval_options", cls=GreedyOption, multiple=True, metavar="KEY=VALUE ...",
              help="Options of the metrics, e.g. classwise=True or jsonfile_prefix=work_dirs/results.")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default=None, help="Default: cuda when available.")
@click.option("--launcher", type=click.Choice(LAUNCHER_CHOICES), default="none",
              help="pytorch: under torchrun; slurm: under srun; mpi: under mpirun (Open MPI).")
@gpu_options(with_gpus=False)
def test(config: str, checkpoint: str, evals: Sequence[str], out: str | None, format_only: bool,
         aug_test: bool, show_dir: str | None, work_dir: str | None, cfg_options: Sequence[str],
         eval_options: Sequence[str], device: str | None, launcher: str, show: bool = False,
         show_score_thr: float = 0.3, opacity: float = 0.5, tmpdir: str | None = None,
         gpu_collect: bool = False, fuse_conv_bn: bool = False, channels_last: bool = False,
         compile_: bool = False, gpu_id: int | None = None, gpu_ids: Sequence[int] = (),
         local_rank: int | None = None) -> None:
    """Test CHECKPOINT of a model from CONFIG; print and optionally save metrics and results."""
    if show:
        refuse_show()
    device = resolve_gpu_device(device, gpu_id, gpu_ids, None, launcher, local_rank)
    if not (out or evals or format_only or show_dir):
        fail("give at least one of --out, --eval, --format-only or --show-dir")
    if evals and format_only:
        fail("--eval and --format-only cannot be both given")
    cfg = load_config(config, cfg_options)
    _check_config(cfg)
    from segdet.errors import SegdetError

    try:
        _run(cfg, checkpoint, list(evals), out, format_only, aug_test, show_dir, work_dir,
             _parse_eval_options(eval_options), device, launcher,
             dict(show_score_thr=show_score_thr, opacity=opacity, tmpdir=tmpdir, gpu_collect=gpu_collect,
                  fuse_conv_bn=fuse_conv_bn, channels_last=channels_last, compile=compile_))
    except SegdetError as err:
        raise click.ClickException(f"{type(err).__name__}: {err}") from err
    except Exception as err:
        message = compile_error_message(err) if compile_ else None
        if message is None:
            raise
        raise click.ClickException(message) from err


def _show_fn(score_thr: float = 0.3, opacity: float = 0.5, palette: Any = None) -> Any:
    """Detection results through ``segdet.apis.inference.show_result`` (boxes of score >= ``score_thr``),
    segmentation maps laid over the image at ``opacity`` in ``palette`` colours (MMSegmentation's
    ``--opacity``), anything else through the engine's drawing."""
    from segdet.apis.inference import show_result

    def show(filename: str, result: Any, classes: Any, out_file: str) -> None:
        if isinstance(result, dict) and "bboxes" in result:
            show_result(filename, result, class_names=classes, score_thr=score_thr, out_file=out_file)
        elif getattr(result, "dim", lambda: 0)() == 2:
            overlay_segmentation(filename, result, palette, opacity, out_file)
        else:
            from segdet.engine.test import draw_result

            draw_result(filename, result, classes, out_file)

    return show


def _parse_eval_options(items: Sequence[str]) -> dict[str, Any]:
    from segdet.config import parse_value

    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            fail(f"--eval-options items must be KEY=VALUE, got {item!r}")
        key, value = item.split("=", 1)
        out[key] = parse_value(value)
    return out


def _build_test_loader(cfg: Any, aug_test: bool, distributed: bool) -> Any:
    """The test loader; ``aug_test`` switches its ``MultiScaleFlipAug`` to several scales + flip:
    for a segmentor (a model with a ``decode_head``) MMSegmentation's ``img_ratios`` 0.5 ... 1.75."""
    from segdet.data.builder import build_dataloader, build_dataset

    test_cfg = copy.deepcopy(to_plain(cfg["data"]["test"]))
    samples_per_gpu = int(test_cfg.pop("samples_per_gpu", 1))
    if aug_test:
        pipeline = test_cfg.get("pipeline") or test_cfg.get("dataset", {}).get("pipeline") or []
        segmentor = "decode_head" in (cfg["model"] or {})
        found = (enable_aug_test(pipeline, SEG_AUG_RATIOS, force_ratios=True) if segmentor
                 else enable_aug_test(pipeline))
        if not found:
            fail("--aug-test: data.test.pipeline has no MultiScaleFlipAug step to switch to multi-scale + flip")
        samples_per_gpu = 1
    try:
        dataset = build_dataset(test_cfg, dict(test_mode=True))
    except FileNotFoundError as err:
        hint = shapes_hint(cfg)
        fail(f"{err}" + (f"\nThe shapes data set is missing; make it with:\n    {hint}" if hint else ""))
    workers = int(cfg["data"].get("workers_per_gpu", 2))
    return build_dataloader(dataset, samples_per_gpu, workers, dist=distributed, shuffle=False)


def _run(cfg: Any, checkpoint: str, evals: list[str], out: str | None, format_only: bool, aug_test: bool,
         show_dir: str | None, work_dir: str | None, eval_options: dict[str, Any],
         device: str | None, launcher: str, extra: dict[str, Any] | None = None) -> None:
    from segdet.engine.dist import get_dist_info, init_dist
    from segdet.engine.logger import get_logger
    from segdet.engine.runtime import apply_runtime, dist_backend, log_level
    from segdet.engine.test import multi_gpu_test, single_gpu_test
    from segdet.engine.train import resolve_device
    from segdet.models.builder import build_model

    distributed = launcher != "none"
    runtime = apply_runtime(cfg)
    dev = init_dist(launcher, backend=dist_backend(cfg), device=device) if distributed else resolve_device(device)
    rank, _ = get_dist_info()
    logger = get_logger("segdet", log_level=log_level(cfg))
    logger.debug("runtime: " + ", ".join(f"{k}={v}" for k, v in runtime.items()))
    loader = _build_test_loader(cfg, aug_test, distributed)
    dataset = loader.dataset
    model = build_model(to_plain(cfg["model"]))
    ckpt = _load_weights(model, checkpoint, logger)
    model.CLASSES = ckpt.get("meta", {}).get("CLASSES") or getattr(dataset, "CLASSES", None)
    extra = dict(extra or {})
    model = model.to(dev)
    apply_speedups(model, dev, logger, fuse=bool(extra.get("fuse_conv_bn")),
                   channels_last=bool(extra.get("channels_last")), compile_=bool(extra.get("compile")))
    show_fn = (_show_fn(extra.get("show_score_thr", 0.3), extra.get("opacity", 0.5), getattr(dataset, "PALETTE", None))
               if show_dir else None)
    if distributed:
        results = multi_gpu_test(model, loader, tmpdir=extra.get("tmpdir"), gpu_collect=bool(extra.get("gpu_collect")),
                                 show_dir=show_dir, show_fn=show_fn)
    else:
        results = single_gpu_test(model, loader, show_dir=show_dir, show_fn=show_fn)
    if rank != 0:
        return
    if out:
        save_results(results, out)
        click.echo(f"writing results to {out}")
    if format_only:
        _format_only(dataset, results, eval_options, work_dir)
    if evals:
        _evaluate(cfg, dataset, results, evals, eval_options, work_dir, checkpoint)


def _format_only(dataset: Any, results: list[Any], options: dict[str, Any], work_dir: str | None) -> None:
    """Write the results in the data set's submission format, no metric.

    Through the evaluation route, the data set's ``evaluator`` gets ``format_only=True`` and
    ``jsonfile_prefix`` (default ``<work_dir or .>/results``): COCO writes ``<prefix>.bbox.json``
    and, with masks, ``<prefix>.segm.json``. A data set with an ``evaluate`` of its own keeps
    MMDetection's ``dataset.format_results(results, jsonfile_prefix=...)`` (or ``outfile=...``).
    """
    import glob
    import inspect

    from segdet.errors import ConfigError
    from segdet.evaluation.route import build_metrics, is_legacy, run_metrics

    options = dict(options)
    prefix = options.pop("jsonfile_prefix", None) or os.path.join(work_dir or ".", "results")
    if not is_legacy(dataset):
        try:
            metrics = build_metrics(dataset, None, format_only=True, jsonfile_prefix=prefix, **options)
        except ConfigError as err:
            fail(f"--format-only: {err}")
        run_metrics(metrics, results, dataset)
        click.echo(f"formatted results: {', '.join(sorted(glob.glob(glob.escape(prefix) + '.*.json')))}")
        return
    fmt = getattr(dataset, "format_results", None)
    if fmt is None:
        fail(f"--format-only: {type(dataset).__name__} has no format_results()")
        return
    params = inspect.signature(fmt).parameters
    if "jsonfile_prefix" in params:
        options["jsonfile_prefix"] = prefix
    elif "outfile" in params and "outfile" not in options:
        options["outfile"] = f"{prefix}.bbox.json"
    unknown = [k for k in options if k not in params]
    if unknown:
        fail(f"--format-only: {type(dataset).__name__}.format_results{inspect.signature(fmt)} "
             f"does not take {unknown}")
    written = fmt(results, **options)
    click.echo(f"formatted results: {written if written else options}")


def _evaluate(cfg: Any, dataset: Any, results: list[Any], evals: list[str], eval_options: dict[str, Any],
              work_dir: str | None, checkpoint: str) -> None:
    """``--eval NAME ...`` through the evaluation route: short names (``bbox``, ``segm``, ``mIoU``)
    are read by the data set's ``evaluator``, names of the ``segdet.metrics`` group build that
    metric. The config's ``evaluation`` options go to the metrics that take them; every
    ``--eval-options`` key must be taken by one."""
    from segdet.errors import ConfigError
    from segdet.evaluation.route import evaluate_dataset

    # the hook's own keys (interval, save_best ...) are taken by no metric, so they drop out
    cfg_options = dict(to_plain(cfg.get("evaluation") or {}))
    cfg_options.pop("metric", None)
    try:
        metrics = evaluate_dataset(dataset, results, metric=evals if len(evals) > 1 else evals[0],
                                   config_options=cfg_options, **eval_options)
    except ConfigError as err:
        fail(f"--eval {' '.join(evals)}: {err}")
    for name, value in metrics.items():
        click.echo(f"{name}: {value:.4f}" if isinstance(value, float) else f"{name}: {value}")
    if work_dir:
        os.makedirs(work_dir, exist_ok=True)
        path = os.path.join(work_dir, f"eval_{time.strftime('%Y%m%d_%H%M%S')}.json")
        with open(path, "w") as f:
            json.dump(dict(config=getattr(cfg, "filename", None), checkpoint=checkpoint, metric=metrics),
                      f, indent=2, default=str)
