"""Dense (one-stage) heads: shared bases and helpers (part of the plugin API).

Head plugins subclass :class:`AnchorHeadBase` (anchor-based) or :class:`PointHeadBase`
(anchor-free, per-point) and add their own layers and ``forward``.
"""
from .anchor_head_base import AnchorHeadBase, AnchorTargets
from .dense_head_base import (
    DEFAULT_TEST_CFG,
    DenseHeadBase,
    bbox_mapping_back,
    empty_result,
    rescale_and_clip,
)
from .point_head_base import PointHeadBase
from .towers import ConvTowers, conv_tower
from .utils import (
    images_to_levels,
    levels_to_flat,
    multi_apply,
    reduce_mean,
    select_single_mlvl,
    unmap,
)

__all__ = [
    "DEFAULT_TEST_CFG",
    "AnchorHeadBase",
    "AnchorTargets",
    "ConvTowers",
    "DenseHeadBase",
    "PointHeadBase",
    "bbox_mapping_back",
    "conv_tower",
    "empty_result",
    "images_to_levels",
    "levels_to_flat",
    "multi_apply",
    "reduce_mean",
    "rescale_and_clip",
    "select_single_mlvl",
    "unmap",
]
