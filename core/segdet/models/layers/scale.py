"""A learnable scalar multiplier (FCOS regression scales)."""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["Scale"]


class Scale(nn.Module):
    """``x * scale`` with a learnable scalar ``scale`` (key ``scale``, shape ``[]``)."""

    def __init__(self, scale: float = 1.0) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(scale, dtype=torch.float))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale
