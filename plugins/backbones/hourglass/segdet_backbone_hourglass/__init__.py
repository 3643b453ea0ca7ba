"""The stacked hourglass backbone of CornerNet."""
from .hourglass import HourglassModule, HourglassNet

__all__ = ["HourglassModule", "HourglassNet"]
