"""segdet-head-aspp: the ``ASPPHead`` decode head of DeepLabV3."""
from .aspp_head import ASPPHead

__all__ = ["ASPPHead"]
