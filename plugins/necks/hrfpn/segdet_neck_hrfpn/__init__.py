"""HRFPN neck for segdet (HRNetV2p pyramids, MMDetection keys)."""
from .hrfpn import HRFPN

__all__ = ["HRFPN"]
