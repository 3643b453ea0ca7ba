"""RandomCenterCropPad: CornerNet's training crop and test-time centre padding (MMDetection 2.x)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["RandomCenterCropPad"]


class RandomCenterCropPad:
    """Crop around a random centre with padding (training), or pad centred (testing).

    Training: pick a ratio from ``ratios``, a window of ``crop_size * ratio`` centred on a random
    point at least a border away from the image edges (the border shrinks by powers of two for
    small images); the window is pasted into a canvas filled with ``mean``. Retried (50 times
    per ratio) until some box centre is inside; boxes whose centre is outside are dropped, the
    others shifted and clipped.
    Testing: the image is pasted in the middle of a canvas of size ``h | 127`` (``test_pad_mode=
    ('logical_or', 127)``) or the next multiple of a divisor (``('size_divisor', 32)``), and
    ``results['border'] = [top, bottom, left, right]`` of the image inside it is recorded (the
    CornerNet decoder subtracts it).

    Args:
        crop_size: ``(h, w)`` of the crop before the ratio (training only).
        ratios: crop scales to choose from (training only). Default ``(0.9, 1.0, 1.1)``.
        border: distance of the centre from the edges (training only). Default 128.
        mean, std, to_rgb: the ``Normalize`` settings; the canvas is filled with ``mean`` (in the
            image's BGR order when ``to_rgb``; MMDetection fills in the config's order).
        test_mode: test-time padding instead of the random crop. Default False.
        test_pad_mode: ``('logical_or', 127)`` or ``('size_divisor', N)`` (test only).
        test_pad_add_pix: pixels added to the padded size (CenterNet). Default 0.
        bbox_clip_border: clip boxes to the crop. Default True.

    Needs a float32 image (``LoadImageFromFile(to_float32=True)``).
    """

    def __init__(
        self,
        crop_size: Sequence[int] | None = None,
        ratios: Sequence[float] | None = (0.9, 1.0, 1.1),
        border: int | None = 128,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        to_rgb: bool | None = None,
        test_mode: bool = False,
        test_pad_mode: Sequence[Any] | None = ("logical_or", 127),
        test_pad_add_pix: int = 0,
        bbox_clip_border: bool = True,
    ) -> None:
        if test_mode:
            if crop_size is not None or ratios is not None or border is not None:
                raise ValueError("RandomCenterCropPad(test_mode=True): set crop_size, ratios and border to None")
            if test_pad_mode is None or test_pad_mode[0] not in ("logical_or", "size_divisor"):
                raise ValueError("RandomCenterCropPad(test_mode=True): test_pad_mode must be "
                                 f"('logical_or', N) or ('size_divisor', N), got {test_pad_mode!r}")
        else:
            if crop_size is None or ratios is None or border is None:
                raise ValueError("RandomCenterCropPad(test_mode=False): crop_size, ratios and border are required")
            if test_pad_mode is not None:
                raise ValueError("RandomCenterCropPad(test_mode=False): set test_pad_mode=None")
        if mean is None or std is None or to_rgb is None:
            raise ValueError("RandomCenterCropPad: give mean, std and to_rgb (e.g. **img_norm_cfg)")
        self.crop_size = None if crop_size is None else (int(crop_size[0]), int(crop_size[1]))
        self.ratios = None if ratios is None else tuple(ratios)
        self.border = border
        self.mean = np.asarray(mean[::-1] if to_rgb else mean, dtype=np.float32)
        self.std = np.asarray(std, dtype=np.float32)
        self.to_rgb = to_rgb
        self.test_mode = test_mode
        self.test_pad_mode = None if test_pad_mode is None else (str(test_pad_mode[0]), int(test_pad_mode[1]))
        self.test_pad_add_pix = test_pad_add_pix
        self.bbox_clip_border = bbox_clip_border

    @staticmethod
    def _border(border: int, size: int) -> int:
        """The border halved until two of them fit in ``size``."""
        k = 2 * border / size
        i = pow(2, np.ceil(np.log2(np.ceil(k))) + (k == int(k)))
        return int(border // i)

    def _paste(self, image: np.ndarray, center: tuple[int, int],
               size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        cy, cx = center
        th, tw = size
        h, w = image.shape[:2]
        x0, x1 = max(0, cx - tw // 2), min(cx + tw // 2, w)
        y0, y1 = max(0, cy - th // 2), min(cy + th // 2, h)
        left, right, top, bottom = cx - x0, x1 - cx, cy - y0, y1 - cy
        canvas = np.empty((th, tw, image.shape[2]), dtype=image.dtype)
        canvas[...] = self.mean
        ccy, ccx = th // 2, tw // 2
        canvas[ccy - top:ccy + bottom, ccx - left:ccx + right] = image[y0:y1, x0:x1]
        border = np.array([ccy - top, ccy + bottom, ccx - left, ccx + right], dtype=np.float32)
        return canvas, border, np.array([x0, y0, x1, y1])

    @staticmethod
    def _centres_inside(patch: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        c = (boxes[:, :2] + boxes[:, 2:4]) / 2
        return (c[:, 0] > patch[0]) & (c[:, 1] > patch[1]) & (c[:, 0] < patch[2]) & (c[:, 1] < patch[3])

    def _train(self, results: dict[str, Any]) -> dict[str, Any]:
        assert self.crop_size is not None and self.ratios is not None and self.border is not None
        img = results["img"]
        h, w = img.shape[:2]
        boxes = results.get("gt_bboxes", np.zeros((0, 4), np.float32))
        while True:
            scale = float(np.random.choice(self.ratios))
            new_h, new_w = int(self.crop_size[0] * scale), int(self.crop_size[1] * scale)
            hb, wb = self._border(self.border, h), self._border(self.border, w)
            for _ in range(50):
                cx = int(np.random.randint(low=wb, high=w - wb))
                cy = int(np.random.randint(low=hb, high=h - hb))
                canvas, _, patch = self._paste(img, (cy, cx), (new_h, new_w))
                if len(boxes) and not self._centres_inside(patch, boxes).any():
                    continue
                results["img"] = canvas
                results["img_shape"] = canvas.shape
                results["pad_shape"] = canvas.shape
                shift = np.array([new_w // 2 - cx, new_h // 2 - cy] * 2, dtype=np.float32)
                for key in results.get("bbox_fields", []):
                    inside = self._centres_inside(patch, results[key])
                    moved = results[key][inside] + shift
                    if self.bbox_clip_border:
                        moved[:, 0::2] = np.clip(moved[:, 0::2], 0, new_w)
                        moved[:, 1::2] = np.clip(moved[:, 1::2], 0, new_h)
                    keep = (moved[:, 2] > moved[:, 0]) & (moved[:, 3] > moved[:, 1])
                    results[key] = moved[keep].astype(np.float32)
                    if key == "gt_bboxes" and "gt_labels" in results:
                        results["gt_labels"] = results["gt_labels"][inside][keep]
                if results.get("mask_fields") or results.get("seg_fields"):
                    raise NotImplementedError("RandomCenterCropPad crops images and boxes only (as MMDetection)")
                return results

    def _test(self, results: dict[str, Any]) -> dict[str, Any]:
        assert self.test_pad_mode is not None
        img = results["img"]
        h, w = img.shape[:2]
        results["img_shape"] = img.shape
        mode, value = self.test_pad_mode
        if mode == "logical_or":
            th, tw = (h | value) + self.test_pad_add_pix, (w | value) + self.test_pad_add_pix
        else:
            th, tw = int(np.ceil(h / value)) * value, int(np.ceil(w / value)) * value
        canvas, border, _ = self._paste(img, (h // 2, w // 2), (th, tw))
        results["img"] = canvas
        results["pad_shape"] = canvas.shape
        results["border"] = border
        return results

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        img = results["img"]
        if img.dtype != np.float32:
            raise TypeError("RandomCenterCropPad needs a float32 image: set to_float32=True in LoadImageFromFile")
        if img.shape[2] != len(self.mean):
            raise ValueError(f"RandomCenterCropPad: image has {img.shape[2]} channels, mean has {len(self.mean)}")
        return self._test(results) if self.test_mode else self._train(results)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(crop_size={self.crop_size}, ratios={self.ratios}, border={self.border}, "
                f"test_mode={self.test_mode}, test_pad_mode={self.test_pad_mode})")
