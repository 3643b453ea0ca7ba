"""RoI heads for two-stage detectors: standard and cascade RoI heads, box heads, the FCN mask head."""
from .cascade_roi_head import CascadeRoIHead
from .convfc_bbox_head import ConvFCBBoxHead
from .fcn_mask_head import FCNMaskHead
from .shared2fc_bbox_head import Shared2FCBBoxHead
from .shared4conv1fc_bbox_head import Shared4Conv1FCBBoxHead
from .standard_roi_head import StandardRoIHead

__all__ = [
    "CascadeRoIHead",
    "ConvFCBBoxHead",
    "FCNMaskHead",
    "Shared2FCBBoxHead",
    "Shared4Conv1FCBBoxHead",
    "StandardRoIHead",
]
