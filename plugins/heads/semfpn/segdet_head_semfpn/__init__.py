"""segdet-head-semfpn: the ``FPNHead`` decode head of Semantic FPN."""
from .fpn_head import FPNHead

__all__ = ["FPNHead"]
