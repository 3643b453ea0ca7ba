"""RoI heads' shared machinery (part of the plugin API through :mod:`segdet.api`).

Head plugins subclass :class:`BaseRoIHead`; :class:`SingleRoIExtractor` is registered in
``segdet.task_modules``; the helpers convert boxes to RoIs, make mask targets and paste masks.
"""
from .base_roi_head import BaseRoIHead
from .bbox_utils import bbox2roi, bbox_flip, bbox_mapping, roi2bbox, scale_factor_tensor
from .mask_ops import mask_target, paste_masks
from .single_roi_extractor import SingleRoIExtractor

__all__ = [
    "BaseRoIHead",
    "SingleRoIExtractor",
    "bbox2roi",
    "bbox_flip",
    "bbox_mapping",
    "mask_target",
    "paste_masks",
    "roi2bbox",
    "scale_factor_tensor",
]
