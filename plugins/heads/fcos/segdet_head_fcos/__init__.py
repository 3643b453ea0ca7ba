"""FCOS anchor-free head with centerness."""
from .fcos_head import FCOSHead

__all__ = ["FCOSHead"]
