"""The device and display flags of MMDetection 2.x / MMSegmentation 0.x tools/train.py and test.py.

``--gpus`` and ``--gpu-ids`` are deprecated there (one GPU per process without a launcher) and
are here, with a line saying so; ``--gpu-id N`` picks CUDA device N; ``--local_rank`` (set by
``torch.distributed.launch``) becomes ``$LOCAL_RANK``. Choosing a GPU on a machine without CUDA
is an error, not a silent fall back to the CPU.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

from ._common import GreedyOption, fail

__all__ = ["LAUNCHER_CHOICES", "apply_speedups", "compile_error_message", "deprecated", "fuse_conv_bn", "gpu_options",
           "refuse_show", "resolve_gpu_device", "speedup_options"]

F = TypeVar("F", bound=Callable[..., Any])
LAUNCHER_CHOICES = ("none", "pytorch", "slurm", "mpi")


def deprecated(message: str) -> None:
    click.echo(f"segdet: {message}", err=True)


def gpu_options(with_gpus: bool) -> Callable[[F], F]:
    """``--gpu-id``, ``--gpu-ids``, ``--local_rank``/``--local-rank`` (and ``--gpus`` for train)."""
    def decorate(func: F) -> F:
        func = click.option("--local_rank", "--local-rank", "local_rank", type=int, default=None, hidden=True,
                            help="Set by torch.distributed.launch; becomes $LOCAL_RANK.")(func)
        func = click.option("--gpu-ids", "gpu_ids", cls=GreedyOption, multiple=True, type=int,
                            help="Deprecated (as in MMDetection 2.x): only the first id is used; use --gpu-id.")(func)
        func = click.option("--gpu-id", "gpu_id", type=int, default=None,
                            help="CUDA device to use without a launcher (MMDetection's --gpu-id).")(func)
        if with_gpus:
            func = click.option("--gpus", "gpus", type=int, default=None,
                                help="Deprecated (as in MMDetection 2.x): one GPU without a launcher.")(func)
        return func
    return decorate


def resolve_gpu_device(device: str | None, gpu_id: int | None, gpu_ids: Sequence[int],
                       gpus: int | None, launcher: str, local_rank: int | None) -> str | None:
    """The ``--device`` value the MMDetection flags stand for (None: the default choice).

    ``--gpus N``: deprecated, one GPU (device 0). ``--gpu-ids a b``: deprecated, device ``a``.
    ``--gpu-id N``: device N. Under a launcher the rank's ``LOCAL_RANK`` decides and these only
    produce a note. Without CUDA any of them is an error.
    """
    if local_rank is not None and "LOCAL_RANK" not in os.environ:
        os.environ["LOCAL_RANK"] = str(local_rank)
    chosen: int | None = None
    if gpus is not None:
        deprecated("--gpus is deprecated (MMDetection 2.x: only single-GPU training without a launcher): "
                   "using 1 GPU; use --gpu-id to choose it, or a launcher for several")
        chosen = 0
    if gpu_ids:
        deprecated(f"--gpu-ids is deprecated, use --gpu-id (one GPU without a launcher): using GPU {gpu_ids[0]}")
        chosen = int(gpu_ids[0])
    if gpu_id is not None:
        chosen = gpu_id
    if chosen is None:
        return device
    flag = "--gpu-id" if gpu_id is not None else ("--gpu-ids" if gpu_ids else "--gpus")
    if device == "cpu":
        fail(f"{flag} chooses a GPU but --device cpu was given; give one of them")
    import torch

    if not torch.cuda.is_available():
        fail(f"{flag} chooses CUDA device {chosen}, but torch sees no CUDA device on this machine "
             f"(torch {torch.__version__}, CUDA build: {torch.version.cuda or 'none'}); leave {flag} out "
             "to run on the CPU")
    if chosen >= torch.cuda.device_count() or chosen < 0:
        fail(f"{flag} {chosen}: this machine has {torch.cuda.device_count()} CUDA device(s), "
             f"0..{torch.cuda.device_count() - 1}")
    if launcher != "none":
        click.echo(f"segdet: {flag} is ignored under --launcher {launcher}: each process uses GPU $LOCAL_RANK")
        return device
    return f"cuda:{chosen}"


def refuse_show() -> None:
    fail("--show opens a window per image, and segdet does not open windows (no display is assumed); "
         "give --show-dir DIR to write the images with the predictions drawn into DIR instead")


def overlay_segmentation(filename: str, seg: Any, palette: Any, opacity: float, out_file: str) -> None:
    """Write ``filename`` with the (H, W) class map ``seg`` laid over it: ``image * (1 - opacity) +
    colour * opacity`` (MMSegmentation's ``show_result``, ``--opacity``); ``palette`` is RGB per class,
    pixels of 255 keep the image. Drawn by :mod:`segdet.visualization`, as browse-dataset draws."""
    import cv2

    from segdet.visualization.draw import draw_semantic, write_image

    img = cv2.imread(filename)
    if img is None:
        return
    shape = tuple(seg.shape[-2:]) if hasattr(seg, "shape") else None
    if shape != img.shape[:2]:
        return
    write_image(draw_semantic(img, seg, palette=palette, alpha=opacity, legend=False), out_file)


def fuse_conv_bn(module: Any) -> int:
    """``--fuse-conv-bn``: :func:`segdet.apis.speedups.fuse_conv_bn` (imported on use: no torch at
    CLI start-up). Returns the number of BatchNorm layers folded."""
    from segdet.apis.speedups import fuse_conv_bn as fuse

    return fuse(module)


def speedup_options(with_fuse: bool) -> Callable[[F], F]:
    """``--channels-last`` and ``--compile`` (and ``--fuse-conv-bn`` for test)."""
    def decorate(func: F) -> F:
        func = click.option("--compile", "compile_", is_flag=True,
                            help="Run the backbone and neck through torch.compile (inductor; the first "
                                 "iterations compile, which takes a while). Checkpoints keep the plain keys.")(func)
        func = click.option("--channels-last", is_flag=True,
                            help="Weights and input images in channels-last (NHWC) memory format: faster "
                                 "convolutions on CUDA and on some CPUs; same results.")(func)
        if with_fuse:
            func = click.option("--fuse-conv-bn", is_flag=True,
                                help="Fold BatchNorm layers into the convolution before them "
                                     "(faster inference, same output).")(func)
        return func
    return decorate


def apply_speedups(model: Any, device: Any, logger: Any, fuse: bool = False, channels_last: bool = False,
                   compile_: bool = False) -> None:
    """``--fuse-conv-bn`` (on the model in eval mode), ``--channels-last``, ``--compile``, in that
    order, through :mod:`segdet.apis.speedups`; ``device`` is where the model runs."""
    from segdet.apis.speedups import compile_model, to_channels_last

    if fuse:
        model.eval()
        count = fuse_conv_bn(model)
        if count:
            logger.info(f"--fuse-conv-bn: folded {count} BatchNorm layers into their convolutions")
        else:
            logger.info("--fuse-conv-bn: folded 0 BatchNorm layers: this model has no BatchNorm right after "
                        "a convolution, so it runs unchanged")
    if channels_last:
        to_channels_last(model)
        logger.info("--channels-last: weights and input images in channels-last memory format")
    if compile_:
        logger.info("--compile: checking that torch.compile works here (compiles a test function)")
        parts = compile_model(model, device=device)
        logger.info(f"--compile: {', '.join(parts)} compiled with torch.compile (inductor); the first "
                    "iterations compile them, the detector's post-processing stays eager")


def compile_error_message(err: BaseException) -> str | None:
    """The one-paragraph message for a failure of torch.compile's machinery while running, or None."""
    from segdet.apis.speedups import compile_failure

    clear = compile_failure(err)
    return None if clear is None else f"{type(clear).__name__}: {clear}"
