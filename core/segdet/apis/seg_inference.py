"""Semantic-segmentation inference in two calls: ``init_segmentor`` and ``inference_segmentor``.

    from segdet.apis.seg_inference import init_segmentor, inference_segmentor

    model = init_segmentor('configs/pspnet/pspnet_r18-d8_shapes.py', 'work_dirs/x/latest.pth')
    label_maps = inference_segmentor(model, ['a.png', 'b.png'])   # list of long Tensors (H, W)
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
from ..engine.checkpoint import load_checkpoint
from ..errors import ConfigError
from ..models.builder import build_model
from .inference import prepare_samples

__all__ = ["init_segmentor", "inference_segmentor"]

ImageInput = Union[str, os.PathLike, np.ndarray]


def _as_config(config: Any) -> Config:
    if isinstance(config, (str, os.PathLike)):
        return Config.fromfile(str(config))
    if isinstance(config, Config):
        return copy.deepcopy(config)
    raise TypeError(f"config must be a file path or a Config, got {type(config).__name__}")


def init_segmentor(config: Any, checkpoint: str | None = None, device: str | torch.device = "cpu") -> nn.Module:
    """Build the segmentor of ``config`` (path or ``Config``) in eval mode on ``device``.

    With a ``checkpoint``, its weights are loaded and ``CLASSES`` / ``PALETTE`` come from its meta;
    no pretrained backbone file is read. The config is kept as ``model.cfg`` for inference.
    """
    cfg = _as_config(config)
    model_cfg = cfg["model"]
    model_cfg["pretrained"] = None
    model_cfg["train_cfg"] = None
    if checkpoint is not None and isinstance(model_cfg.get("backbone"), Mapping) \
            and model_cfg["backbone"].get("init_cfg") is not None:
        model_cfg["backbone"]["init_cfg"] = None  # the checkpoint replaces those weights anyway
    model = build_model(model_cfg)
    classes = palette = None
    if checkpoint is not None:
        meta = load_checkpoint(model, checkpoint, map_location="cpu").get("meta", {}) or {}
        classes, palette = meta.get("CLASSES"), meta.get("PALETTE")
    if classes is None:
        test_cfg = cfg.get("data", {}).get("test", {}) if isinstance(cfg.get("data"), Mapping) else {}
        classes, palette = test_cfg.get("classes"), palette or test_cfg.get("palette")
    model.CLASSES = tuple(classes) if classes is not None else None
    model.PALETTE = palette
    model.cfg = cfg
    model.to(device)
    model.eval()
    return model


def _to_device(batch: Any, device: torch.device) -> Any:
    if isinstance(batch, torch.Tensor):
        return batch.to(device)
    if isinstance(batch, list) and batch and isinstance(batch[0], torch.Tensor):
        return [b.to(device) for b in batch]
    return batch


def inference_segmentor(model: nn.Module, imgs: ImageInput | Sequence[ImageInput]) -> list[torch.Tensor]:
    """Label maps of ``imgs`` (one path / array, or a list) through the config's test pipeline.

    Returns:
        One long Tensor (H, W) of class indices per image, at the image's original size.
    """
    cfg = getattr(model, "cfg", None)
    if cfg is None:
        raise ConfigError("inference_segmentor needs a model made by init_segmentor (it reads model.cfg)")
    from ..data.collate import collate

    single = isinstance(imgs, (str, os.PathLike, np.ndarray))
    items: list[Any] = [imgs] if single else list(imgs)  # type: ignore[arg-type]
    if not items:
        return []
    batch = collate(prepare_samples(cfg, items, "inference_segmentor"))
    device = next(model.parameters()).device
    with torch.no_grad():
        return list(model(img=_to_device(batch["img"], device), img_metas=batch["img_metas"],
                          return_loss=False, rescale=True))
