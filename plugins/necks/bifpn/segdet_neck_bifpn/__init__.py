"""segdet-neck-bifpn: the BiFPN neck of EfficientDet for segdet."""
from .bifpn import BiFPN

__all__ = ["BiFPN"]
