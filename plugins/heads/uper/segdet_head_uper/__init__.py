"""segdet-head-uper: the ``UPerHead`` semantic-segmentation decode head."""
from .uper_head import UPerHead

__all__ = ["UPerHead"]
