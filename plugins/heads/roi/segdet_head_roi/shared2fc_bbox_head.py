"""Faster / Mask / Cascade R-CNN's default box head: two shared fully-connected layers."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .bbox_head_base import DEFAULT_BBOX_CODER, DEFAULT_LOSS_BBOX, DEFAULT_LOSS_CLS
from .convfc_bbox_head import ConvFCBBoxHead

__all__ = ["Shared2FCBBoxHead"]


class Shared2FCBBoxHead(ConvFCBBoxHead):
    """``flatten -> shared_fcs.0 -> shared_fcs.1 -> fc_cls / fc_reg`` (a ``ConvFCBBoxHead`` with 2 shared fcs).

    Args:
        fc_out_channels: width of the two fcs. Default 1024.
        with_avg_pool, with_cls, with_reg, roi_feat_size (7), in_channels (256), num_classes (80),
        bbox_coder, reg_class_agnostic, reg_decoded_bbox, loss_cls, loss_bbox, init_cfg: see
            :class:`~segdet_head_roi.convfc_bbox_head.ConvFCBBoxHead`.

    Shapes: ``(N, in_channels, 7, 7)`` -> ``cls_score (N, num_classes + 1)``,
    ``bbox_pred (N, 4 * num_classes)`` (``(N, 4)`` when ``reg_class_agnostic``).

    Example:
        >>> head = Shared2FCBBoxHead(in_channels=8, fc_out_channels=16, num_classes=3)
    """

    def __init__(
        self,
        fc_out_channels: int = 1024,
        with_avg_pool: bool = False,
        with_cls: bool = True,
        with_reg: bool = True,
        roi_feat_size: int = 7,
        in_channels: int = 256,
        num_classes: int = 80,
        bbox_coder: Mapping[str, Any] = DEFAULT_BBOX_CODER,
        reg_class_agnostic: bool = False,
        reg_decoded_bbox: bool = False,
        loss_cls: Mapping[str, Any] = DEFAULT_LOSS_CLS,
        loss_bbox: Mapping[str, Any] = DEFAULT_LOSS_BBOX,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(
            num_shared_convs=0, num_shared_fcs=2, num_cls_convs=0, num_cls_fcs=0, num_reg_convs=0,
            num_reg_fcs=0, fc_out_channels=fc_out_channels, with_avg_pool=with_avg_pool, with_cls=with_cls,
            with_reg=with_reg, roi_feat_size=roi_feat_size, in_channels=in_channels, num_classes=num_classes,
            bbox_coder=bbox_coder, reg_class_agnostic=reg_class_agnostic, reg_decoded_bbox=reg_decoded_bbox,
            loss_cls=loss_cls, loss_bbox=loss_bbox, init_cfg=init_cfg,
        )
