"""segdet-head-psp: the ``PSPHead`` semantic-segmentation decode head."""
from .psp_head import PSPHead

__all__ = ["PSPHead"]
