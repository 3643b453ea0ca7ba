"""segdet-head-sepaspp: the ``DepthwiseSeparableASPPHead`` decode head of DeepLabV3+."""
from .sep_aspp_head import DepthwiseSeparableASPPHead

__all__ = ["DepthwiseSeparableASPPHead"]
