"""Feature Pyramid Network neck for segdet."""
from .fpn import FPN

__all__ = ["FPN"]
