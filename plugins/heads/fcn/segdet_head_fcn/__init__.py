"""segdet-head-fcn: the ``FCNHead`` semantic-segmentation decode head."""
from .fcn_head import FCNHead

__all__ = ["FCNHead"]
