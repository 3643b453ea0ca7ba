"""RetinaNet head (Lin et al., "Focal Loss for Dense Object Detection"), MMDetection parameter names."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from segdet.api import AnchorHeadBase, ConvTowers, multi_apply

__all__ = ["RetinaHead"]

RETINA_ANCHOR_GENERATOR: Mapping[str, Any] = {
    "type": "AnchorGenerator", "octave_base_scale": 4, "scales_per_octave": 3,
    "ratios": [0.5, 1.0, 2.0], "strides": [8, 16, 32, 64, 128],
}
RETINA_BBOX_CODER: Mapping[str, Any] = {
    "type": "DeltaXYWHBBoxCoder", "target_means": [0.0, 0.0, 0.0, 0.0], "target_stds": [1.0, 1.0, 1.0, 1.0],
}
RETINA_LOSS_CLS: Mapping[str, Any] = {
    "type": "FocalLoss", "use_sigmoid": True, "gamma": 2.0, "alpha": 0.25, "loss_weight": 1.0,
}
RETINA_LOSS_BBOX: Mapping[str, Any] = {"type": "L1Loss", "loss_weight": 1.0}


class RetinaHead(ConvTowers, AnchorHeadBase):
    """Two towers of ``stacked_convs`` 3x3 convs, then ``retina_cls`` and ``retina_reg``.

    Args:
        num_classes: object classes, background excluded.
        in_channels: channels of each input level (filled from the neck when omitted).
        stacked_convs: convs per tower. Default 4.
        feat_channels: tower width. Default 256.
        conv_cfg, norm_cfg: of the tower convs (``ConvModule``); default plain conv + ReLU.
        anchor_generator: default 9 anchors per location (3 scales x 3 ratios), strides 8..128.
        bbox_coder: default ``DeltaXYWHBBoxCoder`` with means 0, stds 1.
        loss_cls: default ``FocalLoss(use_sigmoid=True, gamma=2, alpha=0.25)``.
        loss_bbox: default ``L1Loss``.
        reg_decoded_bbox: apply ``loss_bbox`` to decoded boxes (for IoU losses). Default False.
        train_cfg: ``dict(assigner=dict(type='MaxIoUAssigner', ...), allowed_border=-1, pos_weight=-1)``.
        test_cfg: ``dict(nms_pre=1000, min_bbox_size=0, score_thr=0.05, nms=..., max_per_img=100)``.
        init_cfg: ``None`` or ``dict(type='Pretrained', checkpoint=..., prefix=...)``, read by
            ``init_weights()`` (not at construction).

    Shapes: ``forward(feats)`` with ``feats[l]: (B, in_channels, H_l, W_l)`` returns
    ``cls_scores[l]: (B, A*num_classes, H_l, W_l)`` and ``bbox_preds[l]: (B, A*4, H_l, W_l)``.

    Example:
        >>> head = RetinaHead(num_classes=3, in_channels=8, feat_channels=8, stacked_convs=1)
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int,
        stacked_convs: int = 4,
        feat_channels: int = 256,
        conv_cfg: Mapping[str, Any] | None = None,
        norm_cfg: Mapping[str, Any] | None = None,
        anchor_generator: Mapping[str, Any] = RETINA_ANCHOR_GENERATOR,
        bbox_coder: Mapping[str, Any] = RETINA_BBOX_CODER,
        loss_cls: Mapping[str, Any] = RETINA_LOSS_CLS,
        loss_bbox: Mapping[str, Any] = RETINA_LOSS_BBOX,
        reg_decoded_bbox: bool = False,
        train_cfg: Mapping[str, Any] | None = None,
        test_cfg: Mapping[str, Any] | None = None,
        init_cfg: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(num_classes, in_channels, feat_channels, anchor_generator, bbox_coder,
                         loss_cls, loss_bbox, reg_decoded_bbox, train_cfg, test_cfg)
        self.stacked_convs = stacked_convs
        last = self._build_towers(in_channels, feat_channels, stacked_convs, conv_cfg, norm_cfg)
        self.retina_cls = nn.Conv2d(last, self.num_base_priors * self.cls_out_channels, 3, padding=1)
        self.retina_reg = nn.Conv2d(last, self.num_base_priors * 4, 3, padding=1)
        self.init_cfg = dict(init_cfg) if init_cfg is not None else None
        self._default_init()

    def _cls_logits(self) -> nn.Module:
        return self.retina_cls

    def forward_single(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One level: ``(B, C, H, W)`` -> ``(B, A*num_classes, H, W)``, ``(B, A*4, H, W)``."""
        cls_feat, reg_feat = self._tower_feats(x)
        return self.retina_cls(cls_feat), self.retina_reg(reg_feat)

    def forward(self, feats: Sequence[torch.Tensor]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """All levels: lists ``cls_scores``, ``bbox_preds``."""
        cls_scores, bbox_preds = multi_apply(self.forward_single, feats)
        return cls_scores, bbox_preds

    def loss(self, cls_scores: list[torch.Tensor], bbox_preds: list[torch.Tensor],
             gt_bboxes: list[torch.Tensor], gt_labels: list[torch.Tensor] | None,
             img_metas: list[dict[str, Any]], gt_bboxes_ignore: list[torch.Tensor] | None = None
             ) -> dict[str, torch.Tensor]:
        """``dict(loss_cls, loss_bbox)``: focal classification and box regression over all anchors."""
        return self.anchor_losses(cls_scores, bbox_preds, gt_bboxes, gt_labels, img_metas, gt_bboxes_ignore)
