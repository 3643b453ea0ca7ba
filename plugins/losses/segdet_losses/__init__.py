"""Losses for segdet: classification, box regression, mask and heatmap losses.

Each loss is an ``nn.Module`` with ``forward(pred, target, weight=None,
avg_factor=None, reduction_override=None)`` and MMDetection's reduction rules
(see :mod:`segdet_losses.utils`). Registered in the ``segdet.losses`` group.
"""
from .ae_loss import AssociativeEmbeddingLoss
from .ciou_loss import CIoULoss
from .cross_entropy_loss import CrossEntropyLoss
from .dice_loss import DiceLoss
from .diou_loss import DIoULoss
from .focal_loss import FocalLoss
from .gaussian_focal_loss import GaussianFocalLoss
from .giou_loss import GIoULoss
from .iou_loss import IoULoss
from .l1_loss import L1Loss
from .smooth_l1_loss import SmoothL1Loss
from .utils import reduce_loss, weight_reduce_loss

__all__ = [
    "AssociativeEmbeddingLoss",
    "CIoULoss",
    "CrossEntropyLoss",
    "DIoULoss",
    "DiceLoss",
    "FocalLoss",
    "GIoULoss",
    "GaussianFocalLoss",
    "IoULoss",
    "L1Loss",
    "SmoothL1Loss",
    "reduce_loss",
    "weight_reduce_loss",
]
