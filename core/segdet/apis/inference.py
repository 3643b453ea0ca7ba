"""Run a trained detector on images: ``init_detector``, ``inference_detector``, ``show_result``.

Example::

    from segdet.apis import init_detector, inference_detector, show_result
    model = init_detector('configs/retinanet/retinanet_r18_fpn_shapes.py',
                          'work_dirs/retinanet_r18_fpn_shapes/latest.pth')
    result = inference_detector(model, 'data/shapes/images/val/000000.png')
    show_result('data/shapes/images/val/000000.png', result, model.CLASSES, out_file='out.png')
"""
from __future__ import annotations

import copy
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Union

import numpy as np
import torch
from torch import nn

from ..config import Config
from ..data.transforms.loading import LoadImageFromArray
from ..errors import ConfigError
from ..registry import build

__all__ = ["init_detector", "inference_detector", "show_result", "LoadImageFromArray"]

ImageLike = Union[str, os.PathLike, np.ndarray]
Result = dict[str, torch.Tensor]


def init_detector(config: str | os.PathLike | Config, checkpoint: str | None = None,
                  device: str | torch.device = "cpu",
                  cfg_options: Mapping[str, Any] | None = None) -> nn.Module:
    """Build a detector from a config, load ``checkpoint`` and put it in eval mode on ``device``.

    Args:
        config: a config file path or a :class:`Config`.
        checkpoint: a checkpoint file; ``None`` keeps the random initialisation.
        device: e.g. ``'cpu'`` or ``'cuda:0'``.
        cfg_options: overrides merged into the config (``{'model.test_cfg.score_thr': 0.3}``).

    The config is kept as ``model.cfg``; ``model.CLASSES`` comes from the checkpoint's meta,
    else from the config's ``data.test.classes``.
    """
    from ..models.builder import build_model

    if isinstance(config, (str, os.PathLike)):
        cfg = Config.fromfile(str(config))
    elif isinstance(config, Config):
        cfg = copy.deepcopy(config)
    else:
        raise TypeError(f"config must be a file path or a Config, got {type(config).__name__}")
    if cfg_options:
        cfg.merge_from_dict(dict(cfg_options))
    if "model" not in cfg:
        raise ConfigError(f"{getattr(cfg, 'filename', 'config')}: no 'model' section")
    for key in ("pretrained", "train_cfg"):  # only where the model takes them: its signature is checked
        if key in cfg.model:
            cfg.model[key] = None
    model = build_model(cfg.model)
    classes = None
    if checkpoint is not None:
        from ..engine.checkpoint import load_checkpoint

        ckpt = load_checkpoint(model, checkpoint, map_location="cpu")
        classes = (ckpt.get("meta") or {}).get("CLASSES")
    if classes is None:
        test = cfg.get("data", {}).get("test", {})
        classes = test.get("classes") if isinstance(test, Mapping) else None
    model.CLASSES = tuple(classes) if classes is not None else None
    model.cfg = cfg
    model.to(device)
    model.eval()
    return model


def _test_pipeline(cfg: Any, from_array: bool, caller: str) -> list[Any]:
    try:
        steps = [copy.deepcopy(dict(s)) for s in cfg["data"]["test"]["pipeline"]]
    except (AttributeError, KeyError, TypeError) as err:
        raise ConfigError(f"the config has no data.test.pipeline, which {caller} needs") from err
    if not steps:
        raise ConfigError(f"data.test.pipeline is empty; {caller} needs it to start with LoadImageFromFile")
    if from_array and steps[0].get("type") in ("LoadImageFromFile", "LoadImageFromWebcam"):
        steps[0] = {"type": LoadImageFromArray}
    return [build(step, "transforms") for step in steps]


def _run_pipeline(pipeline: Sequence[Any], results: dict[str, Any]) -> dict[str, Any]:
    for step in pipeline:
        results = step(results)
        if results is None:
            raise RuntimeError(f"test pipeline step {type(step).__name__} dropped the image")
    return results


def prepare_samples(cfg: Any, items: Sequence[ImageLike], caller: str) -> list[dict[str, Any]]:
    """Samples of ``items`` (all file paths, or all BGR arrays) through the config's test pipeline.

    For arrays the pipeline's ``LoadImageFromFile`` becomes ``LoadImageFromArray``.
    """
    from_array = isinstance(items[0], np.ndarray)
    if any(isinstance(i, np.ndarray) != from_array for i in items):
        raise TypeError(f"{caller}: give either all file paths or all arrays")
    pipeline = _test_pipeline(cfg, from_array, caller)
    samples = []
    for item in items:
        if from_array:
            results: dict[str, Any] = {"img": item}
        else:
            path = str(item)
            if not os.path.isfile(path):
                raise FileNotFoundError(f"{caller}: image {path!r} does not exist")
            results = {"img_info": {"filename": path}, "img_prefix": None}
        samples.append(_run_pipeline(pipeline, results))
    return samples


def inference_detector(model: nn.Module, imgs: ImageLike | Sequence[ImageLike]
                       ) -> Result | list[Result]:
    """Detect objects in one image or a list of images (file paths or BGR ``uint8`` arrays).

    Returns:
        For one image, ``dict(bboxes (N, 4), scores (N,), labels (N,))`` in original-image
        pixels, plus ``masks``, a bool (N, H, W) Tensor at the original image size, when the
        model segments instances (Mask R-CNN); for a list, a list of those.
    """
    from ..data.collate import collate

    single = not isinstance(imgs, (list, tuple))
    items: list[Any] = [imgs] if single else list(imgs)  # type: ignore[arg-type]
    if not items:
        return []
    cfg = getattr(model, "cfg", None)
    if cfg is None:
        raise ValueError("inference_detector needs model.cfg; build the model with init_detector")
    batch = collate(prepare_samples(cfg, items, "inference_detector"))
    device = next(model.parameters()).device
    imgs_in = batch["img"]
    if isinstance(imgs_in, torch.Tensor):
        imgs_in = [imgs_in]
        metas = [batch["img_metas"]]
    else:
        metas = batch["img_metas"]
    imgs_in = [t.to(device) for t in imgs_in]
    with torch.no_grad():
        results_out = model(img=imgs_in, img_metas=metas, return_loss=False, rescale=True)
    return results_out[0] if single else results_out


def show_result(img: ImageLike, result: Mapping[str, Any], class_names: Sequence[str] | None = None,
                score_thr: float = 0.3, out_file: str | os.PathLike | None = None,
                thickness: int = 1, font_scale: float = 0.4, mask_alpha: float = 0.5) -> np.ndarray:
    """Draw boxes with ``score >= score_thr``, their class names and scores onto ``img``; instance
    masks, when the result has them, are laid translucent over the image in the box's colour.

    Args:
        img: a file path or a BGR ``uint8`` array (not modified).
        result: ``dict(bboxes, scores, labels)`` as ``inference_detector`` returns, optionally with
            ``masks``: bool (N, H, W) at the image size (Tensor or array), or a list of N RLE dicts.
        class_names: names indexed by label; the label number is drawn without them.
        out_file: where to write the drawing (the folder is created).
        mask_alpha: opacity of the mask colour (0: invisible, 1: opaque). Default 0.5.

    Returns:
        The drawn BGR image.
    """
    import cv2

    canvas: Any
    if isinstance(img, np.ndarray):
        canvas = img.copy()
    else:
        canvas = cv2.imread(str(img), cv2.IMREAD_COLOR)
        if canvas is None:
            raise FileNotFoundError(f"show_result: cannot read image {str(img)!r}")
    bboxes = _numpy(result["bboxes"]).reshape(-1, 4)
    scores = _numpy(result["scores"]).reshape(-1)
    labels = _numpy(result["labels"]).reshape(-1)
    keep = scores >= score_thr
    if result.get("masks") is not None:
        _blend_masks(canvas, result["masks"], keep, labels, mask_alpha)
    for box, score, label in zip(bboxes[keep], scores[keep], labels[keep]):
        colour = _colour(int(label))
        x1, y1, x2, y2 = (int(round(float(v))) for v in box)
        cv2.rectangle(canvas, (x1, y1), (x2, y2), colour, thickness)
        name = class_names[int(label)] if class_names is not None and int(label) < len(class_names) else str(label)
        text = f"{name} {score:.2f}"
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font_scale, 1)
        ty = max(y1, th + base)
        cv2.rectangle(canvas, (x1, ty - th - base), (x1 + tw, ty), colour, -1)
        cv2.putText(canvas, text, (x1, ty - base), cv2.FONT_HERSHEY_SIMPLEX, font_scale, (255, 255, 255), 1,
                    cv2.LINE_AA)
    if out_file is not None:
        Path(out_file).parent.mkdir(parents=True, exist_ok=True)
        if not cv2.imwrite(str(out_file), canvas):
            raise OSError(f"show_result: cannot write {str(out_file)!r}")
    return canvas


def _numpy(x: Any) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def _blend_masks(canvas: np.ndarray, masks: Any, keep: np.ndarray, labels: np.ndarray, alpha: float) -> None:
    """Mix each kept instance's colour into ``canvas`` (in place) where its mask is set."""
    if isinstance(masks, (list, tuple)):  # RLE dicts, as CocoMetric / results json hold them
        from pycocotools import mask as mask_utils

        index = np.flatnonzero(keep)
        planes = [mask_utils.decode(dict(masks[i])).astype(bool) for i in index]
    else:
        arr = _numpy(masks).astype(bool)
        index = np.flatnonzero(keep)
        planes = list(arr[index])
    h, w = canvas.shape[:2]
    for i, plane in zip(index, planes):
        if plane.shape != (h, w):
            raise ValueError(f"show_result: a mask is {plane.shape[1]}x{plane.shape[0]} but the image is "
                             f"{w}x{h}; masks must be at the original image size")
        colour = np.asarray(_colour(int(labels[i])), np.float32)
        canvas[plane] = (canvas[plane].astype(np.float32) * (1 - alpha) + colour * alpha).round().astype(np.uint8)


def _colour(label: int) -> tuple[int, int, int]:
    rng = np.random.default_rng(label + 7)
    return tuple(int(c) for c in rng.integers(40, 220, 3))  # type: ignore[return-value]
