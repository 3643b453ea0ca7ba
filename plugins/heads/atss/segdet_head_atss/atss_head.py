"""ATSS head (Zhang et al., "Bridging the Gap Between Anchor-based and Anchor-free Detection")."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import torch
from torch import nn

from segdet.api import (
    AnchorHeadBase,
    ConvTowers,
    Scale,
    Slot,
    build,
    levels_to_flat,
    multi_apply,
    reduce_mean,
)

__all__ = ["ATSSHead", "anchor_centerness"]

ATSS_ANCHOR_GENERATOR: Mapping[str, Any] = {
    "type": "AnchorGenerator", "ratios": [1.0], "octave_base_scale": 8, "scales_per_octave": 1,
    "strides": [8, 16, 32, 64, 128],
}
ATSS_BBOX_CODER: Mapping[str, Any] = {
    "type": "DeltaXYWHBBoxCoder", "target_means": [0.0, 0.0, 0.0, 0.0], "target_stds": [0.1, 0.1, 0.2, 0.2],
}
ATSS_LOSS_CLS: Mapping[str, Any] = {
    "type": "FocalLoss", "use_sigmoid": True, "gamma": 2.0, "alpha": 0.25, "loss_weight": 1.0,
}
ATSS_LOSS_BBOX: Mapping[str, Any] = {"type": "GIoULoss", "loss_weight": 2.0}
ATSS_LOSS_CENTERNESS: Mapping[str, Any] = {"type": "CrossEntropyLoss", "use_sigmoid": True, "loss_weight": 1.0}
GN_32: Mapping[str, Any] = {"type": "GN", "num_groups": 32, "requires_grad": True}


def anchor_centerness(anchors: torch.Tensor, gts: torch.Tensor) -> torch.Tensor:
    """Centerness of anchor centres inside their boxes: ``sqrt(min(l,r)/max(l,r) * min(t,b)/max(t,b))``.

    Shapes: ``(N, 4)``, ``(N, 4)`` -> ``(N,)``.
    """
    cx = (anchors[:, 0] + anchors[:, 2]) / 2
    cy = (anchors[:, 1] + anchors[:, 3]) / 2
    lr = torch.stack([cx - gts[:, 0], gts[:, 2] - cx], dim=1)
    tb = torch.stack([cy - gts[:, 1], gts[:, 3] - cy], dim=1)
    ratio = (lr.min(1).values / lr.max(1).values) * (tb.min(1).values / tb.max(1).values)
    return ratio.clamp(min=0).sqrt()


class ATSSHead(ConvTowers, AnchorHeadBase):
    """ATSS: GN towers, then ``atss_cls``, ``atss_reg`` (scaled per level) and ``atss_centerness``.

    Args:
        num_classes: object classes, background excluded.
        in_channels: channels of each input level (filled from the neck when omitted).
        pred_kernel_size: kernel of the three prediction convs. Default 3.
        stacked_convs: convs per tower. Default 4.
        feat_channels: tower width. Default 256.
        conv_cfg: of the tower convs. Default plain conv.
        norm_cfg: default ``dict(type='GN', num_groups=32, requires_grad=True)``.
        reg_decoded_bbox: default True (GIoU on decoded boxes).
        anchor_generator: default one square anchor of 8x stride per location, strides 8..128.
        bbox_coder: default ``DeltaXYWHBBoxCoder`` with stds (0.1, 0.1, 0.2, 0.2).
        loss_cls: default ``FocalLoss``; loss_bbox: default ``GIoULoss(loss_weight=2.0)``.
        loss_centerness: default ``CrossEntropyLoss(use_sigmoid=True)``.
        train_cfg: ``dict(assigner=dict(type='ATSSAssigner', topk=9), allowed_border=-1, pos_weight=-1)``.
        test_cfg: ``nms_pre``, ``min_bbox_size``, ``score_thr``, ``nms``, ``max_per_img``.
        init_cfg: ``None`` or ``dict(type='Pretrained', checkpoint=...)``, read by ``init_weights()``.

    Shapes: per level ``(B, C, H, W)`` -> ``(B, A*num_classes, H, W)``, ``(B, A*4, H, W)``,
    ``(B, A, H, W)`` (centerness logits).
    """

    slots: ClassVar[dict[str, Slot]] = {"loss_centerness": Slot("losses")}

    def __init__(
        self,
        num_classes: int,
        in_channels: int,
        pred_kernel_size: int = 3,
        stacked_convs: int = 4,
        feat_channels: int = 256,
        conv_cfg: Mapping[str, Any] | None = None,
        norm_cfg: Mapping[str, Any] | None = GN_32,
        reg_decoded_bbox: bool = True,
        anchor_generator: Mapping[str, Any] = ATSS_ANCHOR_GENERATOR,
        bbox_coder: Mapping[str, Any] = ATSS_BBOX_CODER,
        loss_cls: Mapping[str, Any] = ATSS_LOSS_CLS,
        loss_bbox: Mapping[str, Any] = ATSS_LOSS_BBOX,
        loss_centerness: Mapping[str, Any] = ATSS_LOSS_CENTERNESS,
        train_cfg: Mapping[str, Any] | None = None,
        test_cfg: Mapping[str, Any] | None = None,
        init_cfg: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(num_classes, in_channels, feat_channels, anchor_generator, bbox_coder,
                         loss_cls, loss_bbox, reg_decoded_bbox, train_cfg, test_cfg)
        self.stacked_convs = stacked_convs
        self.loss_centerness = build(loss_centerness, "losses")
        last = self._build_towers(in_channels, feat_channels, stacked_convs, conv_cfg, norm_cfg)
        pad = pred_kernel_size // 2
        a = self.num_base_priors
        self.atss_cls = nn.Conv2d(last, a * self.cls_out_channels, pred_kernel_size, padding=pad)
        self.atss_reg = nn.Conv2d(last, a * 4, pred_kernel_size, padding=pad)
        self.atss_centerness = nn.Conv2d(last, a, pred_kernel_size, padding=pad)
        self.scales = nn.ModuleList([Scale(1.0) for _ in self.prior_generator.strides])
        self.init_cfg = dict(init_cfg) if init_cfg is not None else None
        self._default_init()

    def _cls_logits(self) -> nn.Module:
        return self.atss_cls

    def forward_single(self, x: torch.Tensor, scale: nn.Module
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        cls_feat, reg_feat = self._tower_feats(x)
        bbox_pred = scale(self.atss_reg(reg_feat)).float()
        return self.atss_cls(cls_feat), bbox_pred, self.atss_centerness(reg_feat)

    def forward(self, feats: Sequence[torch.Tensor]
                ) -> tuple[list[torch.Tensor], list[torch.Tensor], list[torch.Tensor]]:
        """All levels: lists ``cls_scores``, ``bbox_preds``, ``centernesses``."""
        cls_scores, bbox_preds, centernesses = multi_apply(self.forward_single, feats, self.scales)
        return cls_scores, bbox_preds, centernesses

    def loss(self, cls_scores: list[torch.Tensor], bbox_preds: list[torch.Tensor],
             centernesses: list[torch.Tensor], gt_bboxes: list[torch.Tensor],
             gt_labels: list[torch.Tensor] | None, img_metas: list[dict[str, Any]],
             gt_bboxes_ignore: list[torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
        """``dict(loss_cls, loss_bbox, loss_centerness)`` as MMDetection's ATSSHead computes them."""
        anchors, _, t = self._prepare_loss(cls_scores, gt_bboxes, gt_labels, img_metas, gt_bboxes_ignore)
        num_pos = float(sum(max(p, 1) for p in t.num_pos))
        device = cls_scores[0].device
        num_samples = max(float(reduce_mean(torch.tensor(num_pos, device=device)).item()), 1.0)
        cls = levels_to_flat(cls_scores, self.cls_out_channels).reshape(-1, self.cls_out_channels)
        loss_cls = self.loss_cls(cls, t.labels.reshape(-1), t.label_weights.reshape(-1), avg_factor=num_samples)
        reg = levels_to_flat(bbox_preds, 4)
        ctr = levels_to_flat(centernesses, 1)
        pos = (t.labels >= 0) & (t.labels < self.num_classes)
        if bool(pos.any()):
            pos_anchors = anchors.unsqueeze(0).expand(reg.shape[0], -1, -1)[pos]
            pos_targets = t.bbox_targets[pos]
            ctr_targets = anchor_centerness(pos_anchors, pos_targets)
            decoded = self.bbox_coder.decode(pos_anchors, reg[pos])
            bbox_avg = reduce_mean(ctr_targets.sum().detach()).clamp(min=1).item()
            loss_bbox = self.loss_bbox(decoded, pos_targets, weight=ctr_targets, avg_factor=bbox_avg)
            loss_ctr = self.loss_centerness(ctr[pos].reshape(-1), ctr_targets, avg_factor=num_samples)
        else:
            loss_bbox = reg.sum() * 0.0
            loss_ctr = ctr.sum() * 0.0
        return {"loss_cls": loss_cls, "loss_bbox": loss_bbox, "loss_centerness": loss_ctr}

    def get_bboxes(self, cls_scores: list[torch.Tensor], bbox_preds: list[torch.Tensor],  # type: ignore[override]
                   centernesses: list[torch.Tensor] | None = None,
                   img_metas: list[dict[str, Any]] | None = None, cfg: Mapping[str, Any] | None = None,
                   rescale: bool = False, with_nms: bool = True) -> list[dict[str, torch.Tensor]]:
        """Boxes per image; scores are multiplied by the centerness (after ``score_thr``)."""
        return super().get_bboxes(cls_scores, bbox_preds, centernesses, img_metas, cfg, rescale, with_nms)
