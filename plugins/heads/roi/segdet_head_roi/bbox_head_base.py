"""What every RoI box head shares: targets, losses, decoding, and refining RoIs between cascade stages."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from segdet.api import SamplingResult, build, multiclass_nms, rescale_and_clip

__all__ = ["BBoxHeadBase", "accuracy", "DEFAULT_BBOX_CODER", "DEFAULT_LOSS_CLS", "DEFAULT_LOSS_BBOX"]

DEFAULT_BBOX_CODER: Mapping[str, Any] = {
    "type": "DeltaXYWHBBoxCoder", "clip_border": True,
    "target_means": [0.0, 0.0, 0.0, 0.0], "target_stds": [0.1, 0.1, 0.2, 0.2],
}
DEFAULT_LOSS_CLS: Mapping[str, Any] = {"type": "CrossEntropyLoss", "use_sigmoid": False, "loss_weight": 1.0}
DEFAULT_LOSS_BBOX: Mapping[str, Any] = {"type": "SmoothL1Loss", "beta": 1.0, "loss_weight": 1.0}


def accuracy(pred: Tensor, target: Tensor) -> Tensor:
    """Top-1 accuracy in percent of ``pred (N, C)`` against labels ``(N,)`` (0 for ``N == 0``)."""
    if pred.shape[0] == 0:
        return pred.new_zeros(())
    correct = (pred.argmax(dim=1) == target).float().sum()
    return correct * (100.0 / target.shape[0])


class BBoxHeadBase(nn.Module):
    """Targets, loss and post-processing of a RoI box head; subclasses add layers and ``forward``.

    ``forward(x)`` maps RoI features ``(N, C, S, S)`` to ``cls_score (N, num_classes + 1)``
    (softmax, background last) and ``bbox_pred (N, 4)`` (class-agnostic) or
    ``(N, 4 * num_classes)``.

    Args:
        with_avg_pool: average-pool the RoI feature before the predictors.
        with_cls, with_reg: build ``fc_cls`` / ``fc_reg``.
        roi_feat_size: side of the pooled RoI feature. Default 7.
        in_channels: channels of the RoI feature. Default 256.
        num_classes: object classes, background excluded. Default 80.
        bbox_coder: default ``DeltaXYWHBBoxCoder`` with stds ``(0.1, 0.1, 0.2, 0.2)``.
        reg_class_agnostic: one box per RoI instead of one per class.
        reg_decoded_bbox: apply ``loss_bbox`` to decoded boxes (IoU-type losses).
        loss_cls: default softmax ``CrossEntropyLoss``.
        loss_bbox: default ``SmoothL1Loss(beta=1.0)``.
        init_cfg: accepted for MMDetection configs; ``init_weights()`` applies MMDetection's init.
    """

    def __init__(
        self,
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
        super().__init__()
        if not (with_cls or with_reg):
            raise ValueError(f"{type(self).__name__}: with_cls and with_reg cannot both be False")
        if loss_cls.get("use_sigmoid", False):
            raise ValueError(f"{type(self).__name__}: loss_cls must be a softmax loss (use_sigmoid=False); "
                             "RoI box heads predict num_classes + 1 scores with background last")
        self.with_avg_pool = with_avg_pool
        self.with_cls = with_cls
        self.with_reg = with_reg
        self.roi_feat_size = (roi_feat_size, roi_feat_size)
        self.roi_feat_area = roi_feat_size * roi_feat_size
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.reg_class_agnostic = reg_class_agnostic
        self.reg_decoded_bbox = reg_decoded_bbox
        self.bbox_coder = build(bbox_coder, "task_modules")
        self.loss_cls = build(loss_cls, "losses")
        self.loss_bbox = build(loss_bbox, "losses")
        self.init_cfg = init_cfg

    # ------------------------------------------------------------------ targets
    def _get_target_single(self, pos_bboxes: Tensor, neg_bboxes: Tensor, pos_gt_bboxes: Tensor,
                           pos_gt_labels: Tensor, cfg: Mapping[str, Any]
                           ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        num_pos, num_neg = pos_bboxes.shape[0], neg_bboxes.shape[0]
        n = num_pos + num_neg
        labels = pos_bboxes.new_full((n,), self.num_classes, dtype=torch.long)
        label_weights = pos_bboxes.new_zeros(n)
        bbox_targets = pos_bboxes.new_zeros((n, 4))
        bbox_weights = pos_bboxes.new_zeros((n, 4))
        if num_pos > 0:
            labels[:num_pos] = pos_gt_labels.long()
            pos_weight = float(cfg.get("pos_weight", -1))
            label_weights[:num_pos] = 1.0 if pos_weight <= 0 else pos_weight
            if self.reg_decoded_bbox:
                bbox_targets[:num_pos] = pos_gt_bboxes
            else:
                bbox_targets[:num_pos] = self.bbox_coder.encode(pos_bboxes, pos_gt_bboxes).to(bbox_targets)
            bbox_weights[:num_pos] = 1.0
        if num_neg > 0:
            label_weights[-num_neg:] = 1.0
        return labels, label_weights, bbox_targets, bbox_weights

    def get_targets(self, sampling_results: Sequence[SamplingResult], gt_bboxes: Sequence[Tensor],
                    gt_labels: Sequence[Tensor], rcnn_train_cfg: Mapping[str, Any] | None
                    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Targets of the sampled RoIs of all images, concatenated in ``bbox2roi`` order.

        Returns:
            ``labels (N,)`` (``num_classes`` = background), ``label_weights (N,)``,
            ``bbox_targets (N, 4)`` and ``bbox_weights (N, 4)``.
        """
        cfg = rcnn_train_cfg or {}
        outs = []
        for res, labels in zip(sampling_results, gt_labels):
            pos_labels = res.pos_gt_labels
            if pos_labels is None:
                pos_labels = labels[res.pos_assigned_gt_inds]
            outs.append(self._get_target_single(res.pos_bboxes, res.neg_bboxes, res.pos_gt_bboxes,
                                                pos_labels, cfg))
        labels_, weights_, targets_, bweights_ = zip(*outs)
        return torch.cat(labels_), torch.cat(weights_), torch.cat(targets_), torch.cat(bweights_)

    # ------------------------------------------------------------------ loss
    def loss(self, cls_score: Tensor | None, bbox_pred: Tensor | None, rois: Tensor, labels: Tensor,
             label_weights: Tensor, bbox_targets: Tensor, bbox_weights: Tensor) -> dict[str, Tensor]:
        """``dict(loss_cls, acc, loss_bbox)`` (MMDetection 2.x: the box loss averages over all RoIs)."""
        losses: dict[str, Tensor] = {}
        if cls_score is not None:
            if cls_score.numel() > 0:
                avg_factor = max(float((label_weights > 0).sum()), 1.0)
                losses["loss_cls"] = self.loss_cls(cls_score, labels, label_weights, avg_factor=avg_factor)
            else:
                losses["loss_cls"] = cls_score.sum() * 0.0
            losses["acc"] = accuracy(cls_score.detach(), labels)
        if bbox_pred is not None:
            pos = (labels >= 0) & (labels < self.num_classes)
            if bool(pos.any()):
                if self.reg_decoded_bbox:
                    bbox_pred = self.bbox_coder.decode(rois[:, 1:], bbox_pred)
                if self.reg_class_agnostic:
                    pos_pred = bbox_pred.view(bbox_pred.shape[0], 4)[pos]
                else:
                    pos_pred = bbox_pred.view(bbox_pred.shape[0], -1, 4)[pos, labels[pos]]
                losses["loss_bbox"] = self.loss_bbox(pos_pred, bbox_targets[pos], bbox_weights[pos],
                                                     avg_factor=bbox_targets.shape[0])
            else:
                losses["loss_bbox"] = bbox_pred[pos].sum()
        return losses

    # ------------------------------------------------------------------ inference
    def get_bboxes(self, rois: Tensor, cls_score: Tensor | None, bbox_pred: Tensor | None,
                   img_meta: Mapping[str, Any], rescale: bool = False, cfg: Mapping[str, Any] | None = None
                   ) -> tuple[Tensor, Tensor]:
        """Decode the boxes of one image's RoIs ``(N, 5)``.

        Returns:
            With ``cfg`` (``score_thr``, ``nms``, ``max_per_img``): ``dets (K, 5)`` and
            ``labels (K,)`` after per-class NMS. Without: ``bboxes (N, 4 or 4C)`` and
            softmax ``scores (N, C + 1)``. Boxes are clipped to ``img_shape`` and, with
            ``rescale``, mapped to original-image pixels.
        """
        if cls_score is None:
            raise ValueError(f"{type(self).__name__}.get_bboxes needs class scores (with_cls=True)")
        scores = F.softmax(cls_score, dim=-1)
        img_shape = img_meta["img_shape"]
        if bbox_pred is not None:
            bboxes = self.bbox_coder.decode(rois[:, 1:], bbox_pred, max_shape=img_shape)
        else:
            bboxes = rois[:, 1:].clone()
            bboxes[:, 0::2] = bboxes[:, 0::2].clamp(0, float(img_shape[1]))
            bboxes[:, 1::2] = bboxes[:, 1::2].clamp(0, float(img_shape[0]))
        if rescale and bboxes.shape[0] > 0:
            n = bboxes.shape[0]
            bboxes = rescale_and_clip(bboxes.reshape(-1, 4), img_meta).reshape(n, -1)
        if cfg is None:
            return bboxes, scores
        dets, labels = multiclass_nms(bboxes, scores[:, :-1], float(cfg.get("score_thr", 0.05)),
                                      cfg.get("nms", {"type": "nms", "iou_threshold": 0.5}),
                                      int(cfg.get("max_per_img", 100)))[:2]
        return dets, labels

    def regress_by_class(self, rois: Tensor, label: Tensor, bbox_pred: Tensor,
                         img_meta: Mapping[str, Any]) -> Tensor:
        """Apply each RoI's regression for ``label`` to ``rois (N, 4 or 5)``; same shape out."""
        if not self.reg_class_agnostic and bbox_pred.shape[1] != 4:
            inds = (label.long() * 4)[:, None] + torch.arange(4, device=label.device)[None]
            bbox_pred = torch.gather(bbox_pred, 1, inds)
        if rois.shape[1] == 4:
            return self.bbox_coder.decode(rois, bbox_pred, max_shape=img_meta["img_shape"])
        boxes = self.bbox_coder.decode(rois[:, 1:], bbox_pred, max_shape=img_meta["img_shape"])
        return torch.cat([rois[:, :1], boxes], dim=1)

    def refine_bboxes(self, rois: Tensor, labels: Tensor, bbox_preds: Tensor, pos_is_gts: Sequence[Tensor],
                      img_metas: Sequence[Mapping[str, Any]]) -> list[Tensor]:
        """Regressed RoIs of every image as the next cascade stage's proposals.

        The ground-truth boxes the sampler added (``pos_is_gts``, first in each image's RoIs)
        are dropped: the next stage's sampler adds them again.

        Returns:
            Per image ``(N_i', 4)`` boxes.
        """
        out = []
        img_ids = rois[:, 0].long()
        for i, meta in enumerate(img_metas):
            inds = torch.nonzero(img_ids == i, as_tuple=False).squeeze(1)
            boxes = self.regress_by_class(rois[inds, 1:], labels[inds], bbox_preds[inds], meta)
            keep = torch.ones(inds.numel(), dtype=torch.bool, device=rois.device)
            is_gt = pos_is_gts[i].to(torch.bool)
            keep[: is_gt.numel()] = ~is_gt
            out.append(boxes[keep])
        return out
