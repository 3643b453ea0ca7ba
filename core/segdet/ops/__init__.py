"""Box operations over torchvision's kernels (CUDA on a GPU, CPU otherwise).

Part of the plugin API: ``nms``, ``batched_nms``, ``soft_nms``,
``multiclass_nms`` and ``bbox_overlaps``.
"""
from .bbox_overlaps import bbox_overlaps
from .multiclass_nms import multiclass_nms
from .nms import batched_nms, nms
from .soft_nms import soft_nms

__all__ = ["batched_nms", "bbox_overlaps", "multiclass_nms", "nms", "soft_nms"]
