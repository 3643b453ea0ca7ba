"""CornerNet's corner head and corner pooling."""
from .corner_head import CornerHead
from .corner_pool import BiCornerPool, CornerPool, corner_pool

__all__ = ["BiCornerPool", "CornerHead", "CornerPool", "corner_pool"]
