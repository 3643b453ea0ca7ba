"""ATSS head (adaptive training sample selection) with a centerness branch."""
from .atss_head import ATSSHead

__all__ = ["ATSSHead"]
