"""Turn a results dict into model inputs: tensors, then the keys a model takes plus ``img_metas``."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

__all__ = ["DefaultFormatBundle", "Collect", "ImageToTensor", "to_tensor"]

META_KEYS = ("filename", "ori_filename", "ori_shape", "img_shape", "pad_shape", "scale_factor", "flip",
             "flip_direction", "img_norm_cfg")


def to_tensor(data: Any) -> torch.Tensor:
    if isinstance(data, torch.Tensor):
        return data
    if isinstance(data, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(data))
    if isinstance(data, (Sequence, int, float)) and not isinstance(data, str):
        return torch.tensor(data)
    raise TypeError(f"cannot convert {type(data).__name__} to a tensor")


def _image_tensor(img: np.ndarray, dtype: type | None = None) -> torch.Tensor:
    """(H, W[, C]) array -> (C, H, W) tensor; the transpose and any ``dtype`` cast are one copy."""
    if img.ndim < 3:
        img = img[..., None]
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1), dtype=dtype or img.dtype))


class DefaultFormatBundle:
    """``img`` -> float (C, H, W); ``gt_bboxes``/``gt_labels``/``gt_masks`` -> tensors;
    ``gt_semantic_seg`` -> long (1, H, W). Fills default ``pad_shape``, ``scale_factor``,
    ``img_norm_cfg`` for pipelines that skip those transforms."""

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        img = results["img"]
        results.setdefault("pad_shape", img.shape)
        results.setdefault("scale_factor", np.ones(4, dtype=np.float32))
        channels = 1 if img.ndim < 3 else img.shape[2]
        results.setdefault("img_norm_cfg", dict(mean=np.zeros(channels, np.float32),
                                                std=np.ones(channels, np.float32), to_rgb=False))
        results["img"] = _image_tensor(img, np.float32)
        for key in ("gt_bboxes", "gt_bboxes_ignore"):
            if key in results:
                results[key] = to_tensor(np.asarray(results[key], dtype=np.float32).reshape(-1, 4))
        if "gt_labels" in results:
            results["gt_labels"] = to_tensor(np.asarray(results["gt_labels"], dtype=np.int64))
        if "gt_masks" in results:
            results["gt_masks"] = to_tensor(np.asarray(results["gt_masks"], dtype=np.uint8))
        if "gt_semantic_seg" in results:
            results["gt_semantic_seg"] = to_tensor(results["gt_semantic_seg"][None].astype(np.int64))
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class ImageToTensor:
    """Convert the images under ``keys`` from (H, W, C) arrays to (C, H, W) tensors."""

    def __init__(self, keys: Sequence[str] = ("img",)) -> None:
        self.keys = list(keys)

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        for key in self.keys:
            results[key] = _image_tensor(results[key])
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(keys={self.keys})"


class Collect:
    """Keep ``keys`` and gather ``meta_keys`` into ``img_metas``.

    Args:
        keys: results keys the model takes, e.g. ``['img', 'gt_bboxes', 'gt_labels']``.
        meta_keys: image facts kept for post-processing (MMDetection's defaults); missing ones
            are left out.
    """

    def __init__(self, keys: Sequence[str], meta_keys: Sequence[str] = META_KEYS) -> None:
        self.keys = list(keys)
        self.meta_keys = list(meta_keys)

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        missing = [k for k in self.keys if k not in results]
        if missing:
            raise KeyError(f"Collect: keys {missing} are not in the results (have {sorted(results)}); "
                           "is a LoadAnnotations / DefaultFormatBundle step missing from the pipeline?")
        data: dict[str, Any] = {"img_metas": {k: results[k] for k in self.meta_keys if k in results}}
        for key in self.keys:
            data[key] = results[key]
        return data

    def __repr__(self) -> str:
        return f"{type(self).__name__}(keys={self.keys}, meta_keys={self.meta_keys})"
