"""A pipeline: transforms applied in order; ``None`` from one stops it (sample skipped)."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ...registry import build

__all__ = ["Compose", "build_transform"]


def build_transform(cfg: Mapping[str, Any] | Callable[..., Any]) -> Callable[..., Any]:
    """A transform from its config dict (group ``transforms``), or a callable as it is."""
    if callable(cfg) and not isinstance(cfg, Mapping):
        return cfg
    return build(cfg, "transforms")


class Compose:
    """Apply ``transforms`` in order.

    Args:
        transforms: transform config dicts (``dict(type='Resize', ...)``) or callables.
    """

    def __init__(self, transforms: Sequence[Mapping[str, Any] | Callable[..., Any]]) -> None:
        self.transforms = [build_transform(t) for t in transforms]

    def __call__(self, results: dict[str, Any]) -> dict[str, Any] | None:
        for t in self.transforms:
            out = t(results)
            if out is None:
                return None
            results = out
        return results

    def __repr__(self) -> str:
        inner = "".join(f"\n    {t!r}" for t in self.transforms)
        return f"{type(self).__name__}({inner}\n)"
