"""Task modules of dense heads: prior generators, box coders, assigners and samplers.

Part of the plugin API. Heads build these from config through the
``segdet.task_modules`` entry-point group; this package exports the classes
for direct use and for type annotations.
"""
from .anchor_generator import AnchorGenerator
from .assign_result import AssignResult
from .atss_assigner import ATSSAssigner
from .delta_xywh_bbox_coder import DeltaXYWHBBoxCoder
from .distance_point_bbox_coder import DistancePointBBoxCoder
from .max_iou_assigner import MaxIoUAssigner
from .ohem_pixel_sampler import OHEMPixelSampler
from .point_generator import MlvlPointGenerator
from .pseudo_sampler import PseudoSampler
from .random_sampler import RandomSampler
from .sampling_result import SamplingResult

__all__ = [
    "ATSSAssigner",
    "AnchorGenerator",
    "AssignResult",
    "DeltaXYWHBBoxCoder",
    "DistancePointBBoxCoder",
    "MaxIoUAssigner",
    "MlvlPointGenerator",
    "OHEMPixelSampler",
    "PseudoSampler",
    "RandomSampler",
    "SamplingResult",
]
