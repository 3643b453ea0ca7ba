"""FCOS head (Tian et al., "FCOS: Fully Convolutional One-Stage Object Detection")."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import torch
from torch import nn

from segdet.api import (
    ConvTowers,
    PointHeadBase,
    Scale,
    Slot,
    build,
    levels_to_flat,
    multi_apply,
    reduce_mean,
)

__all__ = ["FCOSHead", "distance_centerness"]

INF = 1e8
FCOS_REGRESS_RANGES: tuple[tuple[float, float], ...] = ((-1, 64), (64, 128), (128, 256), (256, 512), (512, INF))
FCOS_BBOX_CODER: Mapping[str, Any] = {"type": "DistancePointBBoxCoder"}
FCOS_LOSS_CLS: Mapping[str, Any] = {
    "type": "FocalLoss", "use_sigmoid": True, "gamma": 2.0, "alpha": 0.25, "loss_weight": 1.0,
}
FCOS_LOSS_BBOX: Mapping[str, Any] = {"type": "IoULoss", "loss_weight": 1.0}
FCOS_LOSS_CENTERNESS: Mapping[str, Any] = {"type": "CrossEntropyLoss", "use_sigmoid": True, "loss_weight": 1.0}
GN_32: Mapping[str, Any] = {"type": "GN", "num_groups": 32, "requires_grad": True}


def distance_centerness(ltrb: torch.Tensor) -> torch.Tensor:
    """``sqrt(min(l,r)/max(l,r) * min(t,b)/max(t,b))`` of distance targets ``(N, 4)`` -> ``(N,)``."""
    lr = ltrb[:, [0, 2]]
    tb = ltrb[:, [1, 3]]
    if lr.shape[0] == 0:
        return lr[:, 0]
    ratio = (lr.min(-1).values / lr.max(-1).values) * (tb.min(-1).values / tb.max(-1).values)
    return ratio.clamp(min=0).sqrt()


class FCOSHead(ConvTowers, PointHeadBase):
    """FCOS: GN towers, ``conv_cls``, ``conv_reg`` (scaled per level, exp or ReLU) and ``conv_centerness``.

    Args:
        num_classes: object classes, background excluded.
        in_channels: channels of each input level (filled from the neck when omitted).
        feat_channels: tower width. Default 256.
        stacked_convs: convs per tower. Default 4.
        strides: stride of each level. Default (4, 8, 16, 32, 64).
        dcn_on_last_conv: must be False (no deformable convolution in segdet).
        conv_bias: bias of the tower convs; ``'auto'`` = only without norm.
        regress_ranges: ``(min, max)`` of the largest box side distance per level.
        center_sampling: positives only within ``center_sample_radius * stride`` of box centres.
        center_sample_radius: default 1.5.
        norm_on_bbox: regress distances divided by the stride, through ReLU instead of exp.
        centerness_on_reg: centerness from the regression tower instead of the class tower.
        conv_cfg: of the tower convs. norm_cfg: default ``dict(type='GN', num_groups=32)``.
        bbox_coder: default ``DistancePointBBoxCoder``.
        loss_cls: default ``FocalLoss``; loss_bbox: default ``IoULoss``;
        loss_centerness: default ``CrossEntropyLoss(use_sigmoid=True)``.
        train_cfg: unused by target assignment (FCOS assigns by regress range), kept for configs.
        test_cfg: ``nms_pre``, ``min_bbox_size``, ``score_thr``, ``nms``, ``max_per_img``.
        init_cfg: ``None`` or ``dict(type='Pretrained', checkpoint=...)``, read by ``init_weights()``.

    Shapes: per level ``(B, C, H, W)`` -> ``(B, num_classes, H, W)``, ``(B, 4, H, W)``, ``(B, 1, H, W)``.
    """

    slots: ClassVar[dict[str, Slot]] = {"loss_centerness": Slot("losses")}

    def __init__(
        self,
        num_classes: int,
        in_channels: int,
        feat_channels: int = 256,
        stacked_convs: int = 4,
        strides: Sequence[int] = (4, 8, 16, 32, 64),
        dcn_on_last_conv: bool = False,
        conv_bias: bool | str = "auto",
        regress_ranges: Sequence[Sequence[float]] = FCOS_REGRESS_RANGES,
        center_sampling: bool = False,
        center_sample_radius: float = 1.5,
        norm_on_bbox: bool = False,
        centerness_on_reg: bool = False,
        conv_cfg: Mapping[str, Any] | None = None,
        norm_cfg: Mapping[str, Any] | None = GN_32,
        bbox_coder: Mapping[str, Any] = FCOS_BBOX_CODER,
        loss_cls: Mapping[str, Any] = FCOS_LOSS_CLS,
        loss_bbox: Mapping[str, Any] = FCOS_LOSS_BBOX,
        loss_centerness: Mapping[str, Any] = FCOS_LOSS_CENTERNESS,
        train_cfg: Mapping[str, Any] | None = None,
        test_cfg: Mapping[str, Any] | None = None,
        init_cfg: Mapping[str, Any] | None = None,
    ) -> None:
        if dcn_on_last_conv:
            raise ValueError("FCOSHead: dcn_on_last_conv=True needs deformable convolution, which segdet "
                             "does not provide; set dcn_on_last_conv=False")
        if len(regress_ranges) != len(strides):
            raise ValueError(f"FCOSHead: {len(regress_ranges)} regress_ranges for {len(strides)} strides")
        super().__init__(num_classes, in_channels, feat_channels, strides, bbox_coder, loss_cls, loss_bbox,
                         train_cfg, test_cfg)
        self.regress_ranges = [tuple(float(v) for v in r) for r in regress_ranges]
        self.center_sampling = center_sampling
        self.center_sample_radius = center_sample_radius
        self.norm_on_bbox = norm_on_bbox
        self.centerness_on_reg = centerness_on_reg
        self.stacked_convs = stacked_convs
        self.loss_centerness = build(loss_centerness, "losses")
        last = self._build_towers(in_channels, feat_channels, stacked_convs, conv_cfg, norm_cfg, conv_bias)
        self.conv_cls = nn.Conv2d(last, self.cls_out_channels, 3, padding=1)
        self.conv_reg = nn.Conv2d(last, 4, 3, padding=1)
        self.conv_centerness = nn.Conv2d(last, 1, 3, padding=1)
        self.scales = nn.ModuleList([Scale(1.0) for _ in self.strides])
        self.init_cfg = dict(init_cfg) if init_cfg is not None else None
        self._default_init()

    def _cls_logits(self) -> nn.Module:
        return self.conv_cls

    def forward_single(self, x: torch.Tensor, scale: nn.Module, stride: int
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        cls_feat, reg_feat = self._tower_feats(x)
        cls_score = self.conv_cls(cls_feat)
        centerness = self.conv_centerness(reg_feat if self.centerness_on_reg else cls_feat)
        bbox_pred = scale(self.conv_reg(reg_feat)).float()
        if self.norm_on_bbox:
            bbox_pred = bbox_pred.clamp(min=0)
            if not self.training:
                bbox_pred = bbox_pred * stride
        else:
            bbox_pred = bbox_pred.exp()
        return cls_score, bbox_pred, centerness

    def forward(self, feats: Sequence[torch.Tensor]
                ) -> tuple[list[torch.Tensor], list[torch.Tensor], list[torch.Tensor]]:
        """All levels: lists ``cls_scores``, ``bbox_preds`` (distances in pixels at test time),
        ``centernesses``."""
        cls_scores, bbox_preds, centernesses = multi_apply(self.forward_single, feats, self.scales, self.strides)
        return cls_scores, bbox_preds, centernesses

    # ------------------------------------------------------------------ targets
    def get_targets(self, points: list[torch.Tensor], gt_bboxes: list[torch.Tensor],
                    gt_labels: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Labels ``(B, P)`` (``num_classes`` = background) and distance targets ``(B, P, 4)``."""
        num_points = [p.shape[0] for p in points]
        all_points = torch.cat(points)
        ranges = torch.cat([all_points.new_tensor(r).expand(n, 2) for r, n in zip(self.regress_ranges, num_points)])
        strides = torch.cat([all_points.new_full((n,), float(s)) for s, n in zip(self.strides, num_points)])
        labels, targets = [], []
        for gts, gl in zip(gt_bboxes, gt_labels):
            lab, tgt = self._targets_single(all_points, ranges, strides, gts, gl)
            if self.norm_on_bbox:
                tgt = tgt / strides[:, None]
            labels.append(lab)
            targets.append(tgt)
        return torch.stack(labels), torch.stack(targets)

    def _targets_single(self, points: torch.Tensor, ranges: torch.Tensor, strides: torch.Tensor,
                        gts: torch.Tensor, gt_labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        p, g = points.shape[0], gts.shape[0]
        if g == 0:
            return (gt_labels.new_full((p,), self.num_classes, dtype=torch.long), points.new_zeros((p, 4)))
        gts = gts.to(points.dtype)
        areas = ((gts[:, 2] - gts[:, 0]) * (gts[:, 3] - gts[:, 1]))[None].expand(p, g)
        xs, ys = points[:, 0:1], points[:, 1:2]
        ltrb = torch.stack([xs - gts[None, :, 0], ys - gts[None, :, 1],
                            gts[None, :, 2] - xs, gts[None, :, 3] - ys], dim=-1)  # (P, G, 4)
        if self.center_sampling:
            radius = (strides * self.center_sample_radius)[:, None]
            cx = (gts[:, 0] + gts[:, 2]) / 2
            cy = (gts[:, 1] + gts[:, 3]) / 2
            box = torch.stack([torch.maximum(cx - radius, gts[:, 0]), torch.maximum(cy - radius, gts[:, 1]),
                               torch.minimum(cx + radius, gts[:, 2]), torch.minimum(cy + radius, gts[:, 3])], -1)
            inside = torch.stack([xs - box[..., 0], ys - box[..., 1], box[..., 2] - xs, box[..., 3] - ys],
                                 -1).min(-1).values > 0
        else:
            inside = ltrb.min(-1).values > 0
        max_dist = ltrb.max(-1).values
        in_range = (max_dist >= ranges[:, 0:1]) & (max_dist <= ranges[:, 1:2])
        areas = areas.masked_fill(~(inside & in_range), INF)
        min_area, min_inds = areas.min(dim=1)
        labels = gt_labels.long()[min_inds]
        labels[min_area == INF] = self.num_classes
        return labels, ltrb[torch.arange(p, device=points.device), min_inds]

    # ------------------------------------------------------------------ loss
    def loss(self, cls_scores: list[torch.Tensor], bbox_preds: list[torch.Tensor],
             centernesses: list[torch.Tensor], gt_bboxes: list[torch.Tensor],
             gt_labels: list[torch.Tensor] | None, img_metas: list[dict[str, Any]],
             gt_bboxes_ignore: list[torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
        """``dict(loss_cls, loss_bbox, loss_centerness)`` as MMDetection's FCOSHead computes them."""
        if gt_labels is None:
            gt_labels = [g.new_zeros((g.shape[0],), dtype=torch.long) for g in gt_bboxes]
        featmap_sizes = [(int(c.shape[-2]), int(c.shape[-1])) for c in cls_scores]
        points = self._flat_priors(featmap_sizes, bbox_preds[0].dtype, bbox_preds[0].device)
        labels, targets = self.get_targets(points, gt_bboxes, gt_labels)
        cls = levels_to_flat(cls_scores, self.cls_out_channels).reshape(-1, self.cls_out_channels)
        reg = levels_to_flat(bbox_preds, 4).reshape(-1, 4)
        ctr = levels_to_flat(centernesses, 1).reshape(-1)
        labels = labels.reshape(-1)
        targets = targets.reshape(-1, 4)
        pos = ((labels >= 0) & (labels < self.num_classes)).nonzero().reshape(-1)
        device = cls.device
        num_pos = max(float(reduce_mean(torch.tensor(float(pos.numel()), device=device)).item()), 1.0)
        loss_cls = self.loss_cls(cls, labels, avg_factor=num_pos)
        if pos.numel() > 0:
            pos_targets = targets[pos]
            ctr_targets = distance_centerness(pos_targets)
            denorm = max(float(reduce_mean(ctr_targets.sum().detach()).item()), 1e-6)
            pos_points = torch.cat(points).repeat(len(gt_bboxes), 1)[pos]
            loss_bbox = self.loss_bbox(self.bbox_coder.decode(pos_points, reg[pos]),
                                       self.bbox_coder.decode(pos_points, pos_targets),
                                       weight=ctr_targets, avg_factor=denorm)
            loss_ctr = self.loss_centerness(ctr[pos], ctr_targets, avg_factor=num_pos)
        else:
            loss_bbox = reg[pos].sum() + reg.sum() * 0.0
            loss_ctr = ctr[pos].sum() + ctr.sum() * 0.0
        return {"loss_cls": loss_cls, "loss_bbox": loss_bbox, "loss_centerness": loss_ctr}

    def get_bboxes(self, cls_scores: list[torch.Tensor], bbox_preds: list[torch.Tensor],  # type: ignore[override]
                   centernesses: list[torch.Tensor] | None = None,
                   img_metas: list[dict[str, Any]] | None = None, cfg: Mapping[str, Any] | None = None,
                   rescale: bool = False, with_nms: bool = True) -> list[dict[str, torch.Tensor]]:
        """Boxes per image; scores are multiplied by the centerness (after ``score_thr``)."""
        return super().get_bboxes(cls_scores, bbox_preds, centernesses, img_metas, cfg, rescale, with_nms)
