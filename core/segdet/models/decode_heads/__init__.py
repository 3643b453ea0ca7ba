"""Semantic-segmentation decode heads: the shared base and its helpers (part of the plugin API).

Head plugins (FCN, PSP, UPer, ...) subclass :class:`BaseDecodeHead` and add their layers and
``forward``; the dense detection heads' bases are in :mod:`segdet.models.dense_heads`, the RoI
heads' in :mod:`segdet.models.roi_heads`.
"""
from .decode_head_base import PPM, BaseDecodeHead, LossCfg, class_map, resize, seg_accuracy

__all__ = ["PPM", "BaseDecodeHead", "LossCfg", "class_map", "resize", "seg_accuracy"]
