"""RetinaNet's classification and box subnets."""
from .retina_head import RetinaHead

__all__ = ["RetinaHead"]
