"""Resize image, boxes, masks and maps (MMDetection 2.x / MMSegmentation rules)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import cv2
import numpy as np

__all__ = ["Resize", "rescale_size"]

Scale = tuple[int, int]


def rescale_size(w: int, h: int, scale: Sequence[float]) -> tuple[int, int, float]:
    """Size keeping the aspect ratio so the long edge <= max(scale) and short <= min(scale)."""
    long_edge, short_edge = max(scale), min(scale)
    factor = min(long_edge / max(h, w), short_edge / min(h, w))
    return int(w * factor + 0.5), int(h * factor + 0.5), factor


class Resize:
    """Resize to a scale chosen from ``img_scale`` (and ``ratio_range``).

    Args:
        img_scale: ``(w, h)`` or a list of them; ``None`` when the scale comes from
            ``results['scale']`` (``MultiScaleFlipAug``) or, with ``ratio_range``, from the image.
        multiscale_mode: 'range' (sample long and short edges between two scales) or 'value'
            (pick one of the scales).
        ratio_range: ``(min, max)``: multiply the single ``img_scale`` by a random ratio.
        keep_ratio: keep the aspect ratio (fit inside the scale). Default True.
        bbox_clip_border: clip boxes to the image. Default True.
        override: allow resizing an already resized image (``scale``/``scale_factor`` present).

    Maps and masks use nearest-neighbour sampling; ``results['scale_factor']`` holds
    ``[w_scale, h_scale, w_scale, h_scale]``.
    """

    def __init__(self, img_scale: Scale | Sequence[Scale] | None = None, multiscale_mode: str = "range",
                 ratio_range: tuple[float, float] | None = None, keep_ratio: bool = True,
                 bbox_clip_border: bool = True, override: bool = False) -> None:
        if img_scale is None:
            self.img_scale: list[Scale] | None = None
        elif isinstance(img_scale[0], (int, float)):
            self.img_scale = [tuple(img_scale)]  # type: ignore[list-item]
        else:
            self.img_scale = [tuple(s) for s in img_scale]  # type: ignore[misc, union-attr, arg-type]
        if multiscale_mode not in ("range", "value"):
            raise ValueError(f"Resize: multiscale_mode must be 'range' or 'value', got {multiscale_mode!r}")
        if ratio_range is not None and self.img_scale is not None and len(self.img_scale) != 1:
            raise ValueError("Resize: ratio_range needs exactly one img_scale")
        self.multiscale_mode = multiscale_mode
        self.ratio_range = ratio_range
        self.keep_ratio = keep_ratio
        self.bbox_clip_border = bbox_clip_border
        self.override = override

    def _random_scale(self, results: dict[str, Any]) -> Scale:
        if self.ratio_range is not None:
            if self.img_scale is None:
                h, w = results["img"].shape[:2]
                base: Scale = (w, h)
            else:
                base = self.img_scale[0]
            ratio = np.random.uniform(*self.ratio_range)
            return int(base[0] * ratio), int(base[1] * ratio)
        assert self.img_scale is not None
        if len(self.img_scale) == 1:
            return self.img_scale[0]
        if self.multiscale_mode == "value":
            return self.img_scale[np.random.randint(len(self.img_scale))]
        longs = [max(s) for s in self.img_scale]
        shorts = [min(s) for s in self.img_scale]
        return (int(np.random.randint(min(longs), max(longs) + 1)),
                int(np.random.randint(min(shorts), max(shorts) + 1)))

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        if "scale" in results and not self.override and not np.isscalar(results.get("scale_factor", 0.0)):
            # MMDetection asserts here too: resizing again would overwrite scale_factor with the
            # factor of this step only, and boxes would be rescaled wrongly at test time
            raise ValueError("Resize: the image was already resized (results hold 'scale' and 'scale_factor'); "
                             "give the second Resize override=True")
        if "scale" not in results or self.override:
            if "scale_factor" in results and not self.override and np.isscalar(results["scale_factor"]):
                h, w = results["img"].shape[:2]
                f = float(cast(float, results["scale_factor"]))
                results["scale"] = (int(w * f), int(h * f))
            elif self.img_scale is None and self.ratio_range is None:
                raise ValueError("Resize: no img_scale, and no 'scale' given by MultiScaleFlipAug")
            else:
                results["scale"] = self._random_scale(results)
        img = results["img"]
        h, w = img.shape[:2]
        if self.keep_ratio:
            new_w, new_h, _ = rescale_size(w, h, results["scale"])
        else:
            new_w, new_h = int(results["scale"][0]), int(results["scale"][1])
        for key in results.get("img_fields", ["img"]):
            src = results[key]  # cv2 drops a trailing channel axis of 1: put it back
            results[key] = cv2.resize(src, (new_w, new_h), interpolation=cv2.INTER_LINEAR).reshape(
                new_h, new_w, *src.shape[2:])
        w_scale, h_scale = new_w / w, new_h / h
        factor = np.array([w_scale, h_scale, w_scale, h_scale], dtype=np.float32)
        results["img_shape"] = results["img"].shape
        results["pad_shape"] = results["img"].shape
        results["scale_factor"] = factor
        results["keep_ratio"] = self.keep_ratio
        for key in results.get("bbox_fields", []):
            boxes = results[key] * factor
            if self.bbox_clip_border:
                boxes[:, 0::2] = np.clip(boxes[:, 0::2], 0, new_w)
                boxes[:, 1::2] = np.clip(boxes[:, 1::2], 0, new_h)
            results[key] = boxes.astype(np.float32)
        for key in results.get("mask_fields", []):
            masks = results[key]
            results[key] = (np.stack([cv2.resize(m, (new_w, new_h), interpolation=cv2.INTER_NEAREST) for m in masks])
                            if len(masks) else np.zeros((0, new_h, new_w), np.uint8))
        for key in results.get("seg_fields", []):
            results[key] = cv2.resize(results[key], (new_w, new_h), interpolation=cv2.INTER_NEAREST)
        return results

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(img_scale={self.img_scale}, multiscale_mode={self.multiscale_mode!r}, "
                f"ratio_range={self.ratio_range}, keep_ratio={self.keep_ratio})")
