"""Faster / Mask R-CNN's RoI head: one box head and an optional mask head on sampled proposals."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from segdet.api import BaseRoIHead, bbox2roi

from .test_mixin import RoITestMixin

__all__ = ["StandardRoIHead"]


class StandardRoIHead(RoITestMixin, BaseRoIHead):
    """Sample RoIs from the proposals, pool their features, classify/regress them, segment the positives.

    Args:
        bbox_roi_extractor: ``dict(type='SingleRoIExtractor', roi_layer=dict(type='RoIAlign',
            output_size=7, sampling_ratio=0), out_channels=256, featmap_strides=[4, 8, 16, 32])``.
        bbox_head: e.g. ``dict(type='Shared2FCBBoxHead', in_channels=256, fc_out_channels=1024,
            roi_feat_size=7, num_classes=80, ...)``.
        mask_roi_extractor: like the box one with ``output_size=14``; ``None`` shares the box one.
        mask_head: e.g. ``dict(type='FCNMaskHead', num_convs=4, in_channels=256,
            conv_out_channels=256, num_classes=80)``; ``None`` for Faster R-CNN.
        train_cfg: the detector's ``train_cfg.rcnn``: ``assigner``, ``sampler``, ``mask_size``,
            ``pos_weight``, ``debug``.
        test_cfg: the detector's ``test_cfg.rcnn``: ``score_thr``, ``nms``, ``max_per_img``,
            ``mask_thr_binary``.
        init_cfg: ``None`` or ``dict(type='Pretrained', checkpoint=..., prefix=...)``.

    ``forward_train`` returns ``loss_cls``, ``acc``, ``loss_bbox`` (and ``loss_mask``);
    ``simple_test``/``aug_test`` return per image ``dict(bboxes, scores, labels[, masks])``.

    Example:
        >>> head = StandardRoIHead(
        ...     bbox_roi_extractor=dict(type='SingleRoIExtractor', roi_layer=dict(type='RoIAlign',
        ...         output_size=7, sampling_ratio=0), out_channels=8, featmap_strides=[4, 8]),
        ...     bbox_head=dict(type='Shared2FCBBoxHead', in_channels=8, fc_out_channels=16, num_classes=3))
    """

    def __init__(
        self,
        bbox_roi_extractor: Mapping[str, Any] | None = None,
        bbox_head: Mapping[str, Any] | None = None,
        mask_roi_extractor: Mapping[str, Any] | None = None,
        mask_head: Mapping[str, Any] | None = None,
        train_cfg: Mapping[str, Any] | None = None,
        test_cfg: Mapping[str, Any] | None = None,
        init_cfg: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(bbox_roi_extractor, bbox_head, mask_roi_extractor, mask_head, train_cfg, test_cfg,
                         init_cfg)

    @property
    def final_bbox_head(self) -> Any:
        return self.bbox_head

    @property
    def final_mask_head(self) -> Any:
        return self.mask_head

    # ------------------------------------------------------------------ forward parts
    def _bbox_forward(self, x: Sequence[Tensor], rois: Tensor) -> tuple[Tensor, Tensor]:
        """``cls_score``, ``bbox_pred`` of ``rois (N, 5)``."""
        cls_score, bbox_pred = self.bbox_head(self.bbox_roi_extractor(x, rois))
        return cls_score, bbox_pred

    def _mask_forward(self, x: Sequence[Tensor], rois: Tensor) -> Tensor:
        """Mask logits ``(N, K, h, w)`` of ``rois (N, 5)``."""
        return self.mask_head(self.mask_roi_extractor(x, rois))

    def _box_predictions(self, x: Sequence[Tensor], rois: Tensor,
                         img_metas: Sequence[Mapping[str, Any]]) -> tuple[Tensor, Tensor, Tensor]:
        cls_score, bbox_pred = self._bbox_forward(x, rois)
        return cls_score, bbox_pred, rois

    def _mask_probs(self, x: Sequence[Tensor], mask_rois: Tensor) -> Tensor:
        return self._mask_forward(x, mask_rois).sigmoid()

    def forward_dummy(self, x: Sequence[Tensor], proposals: Tensor) -> tuple[Tensor, ...]:
        """Raw outputs for ``proposals (N, 4)`` of the first image: ``cls_score``, ``bbox_pred``
        and, with a mask head, the mask logits of the first 100 RoIs (for FLOP counting)."""
        rois = bbox2roi([proposals])
        outs: tuple[Tensor, ...] = ()
        if self.with_bbox:
            outs = outs + self._bbox_forward(x, rois)
        if self.with_mask:
            outs = outs + (self._mask_forward(x, rois[:100]),)
        return outs

    # ------------------------------------------------------------------ training
    def forward_train(self, x: Sequence[Tensor], img_metas: list[dict[str, Any]], proposal_list: list[Tensor],
                      gt_bboxes: list[Tensor], gt_labels: list[Tensor],
                      gt_bboxes_ignore: list[Tensor] | None = None,
                      gt_masks: list[Tensor] | None = None) -> dict[str, Any]:
        """Losses of a batch.

        Args:
            x: feature maps ``(B, C, H_l, W_l)``.
            img_metas: per image meta.
            proposal_list: per image ``(N_i, 5)`` proposals ``x1, y1, x2, y2, score`` in the resized image.
            gt_bboxes: per image ``(K_i, 4)``; gt_labels: per image ``(K_i,)``.
            gt_bboxes_ignore: per image boxes whose proposals are ignored, or ``None``.
            gt_masks: per image ``(K_i, H, W)`` uint8 masks in the padded image (mask head only).

        Returns:
            ``loss_cls``, ``acc``, ``loss_bbox`` and, with a mask head, ``loss_mask``.
        """
        sampling_results = self.assign_and_sample(proposal_list, gt_bboxes, gt_labels, gt_bboxes_ignore)
        losses: dict[str, Any] = {}
        if self.with_bbox:
            rois = bbox2roi([res.bboxes for res in sampling_results])
            cls_score, bbox_pred = self._bbox_forward(x, rois)
            targets = self.bbox_head.get_targets(sampling_results, gt_bboxes, gt_labels, self.train_cfg)
            losses.update(self.bbox_head.loss(cls_score, bbox_pred, rois, *targets))
        if self.with_mask:
            losses.update(self._mask_forward_train(x, sampling_results, gt_labels, gt_masks))
        return losses

    def _mask_forward_train(self, x: Sequence[Tensor], sampling_results: list[Any], gt_labels: list[Tensor],
                            gt_masks: list[Tensor] | None) -> dict[str, Tensor]:
        if gt_masks is None:
            raise ValueError(f"{type(self).__name__} has a mask_head but got no gt_masks: load them with "
                             "LoadAnnotations(with_mask=True) and add 'gt_masks' to Collect(keys=...)")
        pos_rois = bbox2roi([res.pos_bboxes for res in sampling_results])
        mask_pred = self._mask_forward(x, pos_rois)
        targets = self.mask_head.get_targets(sampling_results, gt_masks, self.train_cfg)
        pos_labels = torch.cat([_pos_labels(res, labels) for res, labels in zip(sampling_results, gt_labels)])
        return self.mask_head.loss(mask_pred, targets, pos_labels)


def _pos_labels(res: Any, gt_labels: Tensor) -> Tensor:
    """Class of each positive RoI (from the assignment, else looked up in ``gt_labels``)."""
    if res.pos_gt_labels is not None:
        return res.pos_gt_labels
    return gt_labels[res.pos_assigned_gt_inds]
