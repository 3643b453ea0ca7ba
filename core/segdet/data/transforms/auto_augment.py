"""Pick one of several augmentation policies at random (MMDetection's AutoAugment)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from ...registry.slots import Slot
from .compose import Compose

__all__ = ["AutoAugment"]


class AutoAugment:
    """Apply one policy, chosen uniformly, from ``policies``.

    Args:
        policies: a list of policies; each policy is a list of transform configs, e.g.
            ``[[dict(type='Resize', img_scale=(64, 64))], [dict(type='RandomFlip', flip_ratio=1.0)]]``.
    """

    slots: ClassVar[dict[str, Slot]] = {"policies": Slot("transforms", optional=False)}

    def __init__(self, policies: Sequence[Sequence[Mapping[str, Any]]]) -> None:
        if not policies or any(not isinstance(p, (list, tuple)) or not p for p in policies):
            raise ValueError("AutoAugment: policies must be a non-empty list of non-empty lists of transforms")
        self.policies = [Compose(p) for p in policies]

    def __call__(self, results: dict[str, Any]) -> dict[str, Any] | None:
        return self.policies[np.random.randint(len(self.policies))](results)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(policies={self.policies})"
