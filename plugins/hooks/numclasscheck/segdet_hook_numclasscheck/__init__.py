"""Check that a data set's classes fit the model's heads."""
from __future__ import annotations

from .num_class_check import NumClassCheckHook

__all__ = ["NumClassCheckHook"]
