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
from typing import Any, Union

import numpy as np
import torch
from torch import nn

from ..config import Config
from ..data.transforms.loading import LoadImageFromArray
from ..errors import ConfigError
from ..registry import build
from ..visualization import label_colour as _colour  # noqa: F401  (the old private name of a label's colour)

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

    from ..visualization import draw_instances, write_image

    image: Any
    if isinstance(img, np.ndarray):
        image = img
    else:
        image = cv2.imread(str(img), cv2.IMREAD_COLOR)
        if image is None:
            raise FileNotFoundError(f"show_result: cannot read image {str(img)!r}")
    try:
        canvas = draw_instances(image, result["bboxes"], result["labels"], result["scores"],
                                result.get("masks"), class_names, score_thr, thickness, font_scale, mask_alpha)
    except ValueError as err:
        raise ValueError(f"show_result: {err}") from err
    if out_file is not None:
        write_image(canvas, out_file)
    return canvas
