"""Test-time augmentation: run the inner transforms once per scale and flip."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, cast

from ...registry.slots import Slot
from .compose import Compose

__all__ = ["MultiScaleFlipAug"]


class MultiScaleFlipAug:
    """Run ``transforms`` for every (scale, flip) pair; results hold lists, one item per pair.

    Args:
        transforms: inner pipeline (``Resize`` without ``img_scale`` reads the scale given here).
        img_scale: ``(w, h)`` or a list of them.
        scale_factor: alternatively, float factor(s) of the original size.
        img_ratios: MMSegmentation's: multiply ``img_scale`` (or the original size) by each ratio.
        flip: add flipped copies. Default False.
        flip_direction: direction(s) of those copies.
    """

    slots: ClassVar[dict[str, Slot]] = {"transforms": Slot("transforms", optional=False)}

    def __init__(self, transforms: Sequence[Mapping[str, Any]],
                 img_scale: tuple[int, int] | Sequence[tuple[int, int]] | None = None,
                 scale_factor: float | Sequence[float] | None = None,
                 img_ratios: float | Sequence[float] | None = None,
                 flip: bool = False, flip_direction: str | Sequence[str] = "horizontal") -> None:
        if (img_scale is None) == (scale_factor is None) and img_ratios is None:
            raise ValueError("MultiScaleFlipAug: give exactly one of img_scale or scale_factor")
        self.transforms = Compose(transforms)
        if img_scale is not None and isinstance(img_scale[0], (int, float)):
            img_scale = [tuple(img_scale)]  # type: ignore[list-item]
        self.img_scale = [tuple(s) for s in img_scale] if img_scale is not None else None  # type: ignore[union-attr, arg-type, misc]
        if scale_factor is not None and not isinstance(scale_factor, (list, tuple)):
            scale_factor = [cast(float, scale_factor)]
        self.scale_factor = list(scale_factor) if scale_factor is not None else None
        if img_ratios is not None and not isinstance(img_ratios, (list, tuple)):
            img_ratios = [cast(float, img_ratios)]
        self.img_ratios = list(img_ratios) if img_ratios is not None else None
        self.flip = flip
        self.flip_direction = [flip_direction] if isinstance(flip_direction, str) else list(flip_direction)

    def _scales(self, results: dict[str, Any]) -> list[tuple[str, Any]]:
        if self.img_ratios is not None:
            if self.img_scale is not None:
                base = self.img_scale[0]
            else:
                h, w = results["img"].shape[:2]
                base = (w, h)
            return [("scale", (int(base[0] * r), int(base[1] * r))) for r in self.img_ratios]
        if self.img_scale is not None:
            return [("scale", s) for s in self.img_scale]
        assert self.scale_factor is not None
        return [("scale_factor", f) for f in self.scale_factor]

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        flips: list[tuple[bool, str | None]] = [(False, None)]
        if self.flip:
            flips += [(True, d) for d in self.flip_direction]
        out: dict[str, list[Any]] = {}
        for key, scale in self._scales(results):
            for flip, direction in flips:
                item = dict(results)
                item[key] = scale
                item["flip"] = flip
                item["flip_direction"] = direction
                data = self.transforms(item)
                if data is None:
                    raise ValueError("MultiScaleFlipAug: an inner transform dropped a test sample")
                for k, v in data.items():
                    out.setdefault(k, []).append(v)
        return out

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(transforms={self.transforms!r}, img_scale={self.img_scale}, "
                f"flip={self.flip}, flip_direction={self.flip_direction})")
