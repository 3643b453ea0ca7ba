"""Run a model over a test data loader and collect per-image results (on the CPU)."""
from __future__ import annotations

import itertools
import os
from typing import Any, Callable

import torch
from torch import nn

from ..evaluation.coco_results import encode_mask_results
from .checkpoint import unwrap_model
from .dist import all_gather_object, broadcast_buffers, get_dist_info
from .progress import Progress
from .runner.base import to_device

__all__ = ["single_gpu_test", "multi_gpu_test", "results_to_cpu", "draw_result", "ShowFn"]

_MISSING = object()
#: ``show_fn(filename, result, class_names, out_file)`` draws one result
ShowFn = Callable[[str, Any, Any, str], Any]


def results_to_cpu(result: Any) -> Any:
    if isinstance(result, torch.Tensor):
        return result.detach().cpu()
    if isinstance(result, dict):
        return {k: results_to_cpu(v) for k, v in result.items()}
    if isinstance(result, (list, tuple)):
        return type(result)(results_to_cpu(v) for v in result)
    return result


def _device_of(model: nn.Module) -> torch.device:
    first = next(model.parameters(), None)
    return first.device if first is not None else torch.device("cpu")


def _run(model: nn.Module, data_loader: Any, show_dir: str | None, total: int, desc: str,
         enabled: bool, show_fn: ShowFn | None = None) -> list[Any]:
    model = unwrap_model(model)
    was_training = model.training
    model.eval()
    device = _device_of(model)
    results: list[Any] = []
    with Progress(total, desc, enabled=enabled) as bar, torch.no_grad():
        for data in data_loader:
            batch = model(return_loss=False, rescale=True, **to_device(data, device))
            batch = results_to_cpu(batch)
            if show_dir:
                _show(data, batch, show_dir, getattr(model, "CLASSES", None), show_fn)
            results.extend(encode_mask_results(r) for r in batch)  # RLE: bounded memory over a test set
            bar.update(len(batch))
    model.train(was_training)
    return results


def single_gpu_test(model: nn.Module, data_loader: Any, show_dir: str | None = None,
                    show_fn: ShowFn | None = None) -> list[Any]:
    """Test ``model`` on every batch of ``data_loader`` (on the model's device).

    The model is called as ``model(return_loss=False, rescale=True, **data)`` and returns
    one result per image (see CONTRACTS); results are moved to the CPU, and instance masks
    (bool (N, H, W) at the original size) are kept as lists of RLE dicts, as MMDetection does. With
    ``show_dir``, an image with predictions drawn is written per input image, by
    ``show_fn(filename, result, class_names, out_file)`` (default: boxes or a colour mask with cv2).
    """
    return _run(model, data_loader, show_dir, len(data_loader.dataset), "test", True, show_fn)


def multi_gpu_test(model: nn.Module, data_loader: Any, tmpdir: str | None = None,
                   gpu_collect: bool = True, show_dir: str | None = None,
                   show_fn: ShowFn | None = None) -> list[Any]:
    """Test with one shard of the data set per rank and gather every result on every rank.

    Buffers (BatchNorm statistics) are first broadcast from rank 0 so every rank runs the same model.

    The loader's sampler must give rank ``r`` the indices ``r, r + world_size, ...``
    (``DistributedSampler(shuffle=False)``); results are put back in data set order
    and the padding the sampler adds is dropped. ``tmpdir``/``gpu_collect`` are
    accepted for MMDetection compatibility; gathering uses ``all_gather_object``.
    """
    rank, world_size = get_dist_info()
    broadcast_buffers(unwrap_model(model))
    size = len(data_loader.dataset)
    part = _run(model, data_loader, show_dir, -(-size // world_size), "test", rank == 0, show_fn)
    parts = all_gather_object(part)
    ordered: list[Any] = []
    for items in itertools.zip_longest(*parts, fillvalue=_MISSING):
        ordered.extend(item for item in items if item is not _MISSING)
    return ordered[:size]


def _show(data: dict, batch: list[Any], show_dir: str, classes: Any, show_fn: ShowFn | None) -> None:
    metas = data.get("img_metas")
    if isinstance(metas, list) and metas and isinstance(metas[0], list):
        metas = metas[0]
    if not isinstance(metas, list):
        return
    os.makedirs(show_dir, exist_ok=True)
    for meta, result in zip(metas, batch):
        filename = meta.get("filename") or meta.get("ori_filename")
        if not filename or not os.path.isfile(filename):
            continue
        out_file = os.path.join(show_dir, os.path.basename(filename))
        (show_fn or draw_result)(filename, result, classes, out_file)


def draw_result(filename: str, result: Any, classes: Any, out_file: str, score_thr: float = 0.3,
                palette: Any = None) -> None:
    """Write ``filename`` with a detection result's boxes (score >= ``score_thr``) and masks, or a
    segmentation result's map in ``palette`` colours with a legend, to ``out_file``
    (drawn by :mod:`segdet.visualization`, as ``segdet browse-dataset`` draws ground truth)."""
    import cv2

    from ..visualization import draw_instances, draw_semantic, write_image

    img = cv2.imread(filename)
    if img is None:
        return
    if isinstance(result, dict) and "bboxes" in result:
        img = draw_instances(img, result["bboxes"], result["labels"], result["scores"], result.get("masks"),
                             classes, score_thr)
    elif isinstance(result, torch.Tensor) and result.dim() == 2 and tuple(result.shape) == img.shape[:2]:
        img = draw_semantic(img, result, classes, palette)
    write_image(img, out_file)
