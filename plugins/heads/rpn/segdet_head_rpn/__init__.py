"""The region proposal network head of two-stage detectors."""
from .rpn_head import RPNHead

__all__ = ["RPNHead"]
