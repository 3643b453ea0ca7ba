"""Anchor-based dense head: composes prior generator, assigner, sampler, box coder and losses."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import torch

from ...registry import build
from ...registry.slots import Slot
from .dense_head_base import DEFAULT_TEST_CFG, DenseHeadBase
from .utils import levels_to_flat

__all__ = ["AnchorHeadBase", "AnchorTargets"]


class AnchorTargets:
    """Training targets of a batch, flattened over levels: every tensor is ``(B, A, ...)``.

    ``labels`` holds ``num_classes`` for background; ``bbox_targets`` are encoded deltas, or
    ground-truth boxes when the head regresses decoded boxes. ``num_pos``/``num_neg`` are
    per-image counts (Python ints).
    """

    __slots__ = ("labels", "label_weights", "bbox_targets", "bbox_weights", "num_pos", "num_neg")

    def __init__(self, labels: torch.Tensor, label_weights: torch.Tensor, bbox_targets: torch.Tensor,
                 bbox_weights: torch.Tensor, num_pos: list[int], num_neg: list[int]) -> None:
        self.labels = labels
        self.label_weights = label_weights
        self.bbox_targets = bbox_targets
        self.bbox_weights = bbox_weights
        self.num_pos = num_pos
        self.num_neg = num_neg


class AnchorHeadBase(DenseHeadBase):
    """Base of anchor heads (RetinaNet, ATSS, ...); a subclass adds its layers and ``forward``.

    Args:
        num_classes: object classes, background excluded.
        in_channels: channels of every input feature map.
        feat_channels: channels of the hidden convolutions (used by subclasses). Default 256.
        anchor_generator: config of the prior generator (group ``task_modules``).
        bbox_coder: config of the box coder, e.g. ``dict(type='DeltaXYWHBBoxCoder')``.
        reg_decoded_bbox: regress decoded boxes (IoU-type losses) instead of deltas. Default False.
        loss_cls: config of the classification loss (group ``losses``); ``use_sigmoid`` decides
            whether a background channel exists.
        loss_bbox: config of the box loss.
        train_cfg: ``dict(assigner=..., sampler=..., allowed_border=-1, pos_weight=-1)``; the sampler
            defaults to ``PseudoSampler`` (always so for focal-type losses, as in MMDetection).
        test_cfg: ``nms_pre``, ``min_bbox_size``, ``score_thr``, ``nms``, ``max_per_img``.
    """

    slots: ClassVar[dict[str, Slot]] = {
        "anchor_generator": Slot("task_modules", optional=False),
        "bbox_coder": Slot("task_modules", optional=False),
        "loss_cls": Slot("losses", optional=False),
        "loss_bbox": Slot("losses", optional=False),
        "train_cfg.assigner": Slot("task_modules"),
        "train_cfg.sampler": Slot("task_modules"),
    }

    def __init__(
        self,
        num_classes: int,
        in_channels: int,
        feat_channels: int,
        anchor_generator: Mapping[str, Any],
        bbox_coder: Mapping[str, Any],
        loss_cls: Mapping[str, Any],
        loss_bbox: Mapping[str, Any],
        reg_decoded_bbox: bool = False,
        train_cfg: Mapping[str, Any] | None = None,
        test_cfg: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.feat_channels = feat_channels
        self.use_sigmoid_cls = bool(loss_cls.get("use_sigmoid", False))
        self.cls_out_channels = num_classes if self.use_sigmoid_cls else num_classes + 1
        if self.cls_out_channels <= 0:
            raise ValueError(f"num_classes={num_classes} is too small")
        self.reg_decoded_bbox = reg_decoded_bbox
        self.prior_generator = build(anchor_generator, "task_modules")
        self.num_base_priors = int(self.prior_generator.num_base_priors[0])
        self.bbox_coder = build(bbox_coder, "task_modules")
        self.loss_cls = build(loss_cls, "losses")
        self.loss_bbox = build(loss_bbox, "losses")
        # A loss that balances foreground and background itself (focal-type) declares
        # ``needs_sampling = False``; every anchor then counts and the sampler is a PseudoSampler.
        self.sampling = bool(getattr(self.loss_cls, "needs_sampling", True))
        self.train_cfg = dict(train_cfg) if train_cfg is not None else None
        self.test_cfg = dict(test_cfg) if test_cfg is not None else dict(DEFAULT_TEST_CFG)
        self.assigner: Any = None
        self._per_level_assigner = False
        self.sampler: Any = None
        if self.train_cfg is not None:
            if self.train_cfg.get("assigner") is not None:
                self.assigner = build(self.train_cfg["assigner"], "task_modules")
                # an assigner that selects candidates per pyramid level declares ``needs_level_counts``
                self._per_level_assigner = bool(getattr(self.assigner, "needs_level_counts", False))
            sampler_cfg = self.train_cfg.get("sampler") if self.sampling else None
            self.sampler = build(sampler_cfg or {"type": "PseudoSampler"}, "task_modules")

    @property
    def num_anchors(self) -> int:
        return self.num_base_priors

    # ------------------------------------------------------------------ targets
    def get_targets(self, anchors: torch.Tensor, num_level_anchors: list[int],
                    featmap_sizes: list[tuple[int, int]], gt_bboxes: list[torch.Tensor],
                    gt_labels: list[torch.Tensor] | None, img_metas: list[dict[str, Any]],
                    gt_bboxes_ignore: list[torch.Tensor] | None = None) -> AnchorTargets:
        """Assign, sample and encode targets of every image.

        Args:
            anchors: ``(A, 4)`` anchors of all levels, shared by the padded batch.
            num_level_anchors: anchors per level (sums to ``A``).
            featmap_sizes: ``(H, W)`` per level, for the valid flags of each image's padding.
        """
        if self.assigner is None or self.sampler is None:
            raise RuntimeError(f"{type(self).__name__} has no train_cfg.assigner; pass train_cfg to train it")
        outs = []
        for i, meta in enumerate(img_metas):
            valid = self._valid_flags(anchors, featmap_sizes, meta)
            outs.append(self._get_targets_single(
                anchors, valid, num_level_anchors, gt_bboxes[i],
                None if gt_bboxes_ignore is None else gt_bboxes_ignore[i],
                None if gt_labels is None else gt_labels[i]))
        labels, label_weights, bbox_targets, bbox_weights, num_pos, num_neg = zip(*outs)
        return AnchorTargets(torch.stack(labels), torch.stack(label_weights), torch.stack(bbox_targets),
                             torch.stack(bbox_weights), list(num_pos), list(num_neg))

    def _valid_flags(self, anchors: torch.Tensor, featmap_sizes: list[tuple[int, int]],
                     meta: Mapping[str, Any]) -> torch.Tensor | None:
        """Anchors usable for this image; ``None`` means all (the common, fast case)."""
        border = int((self.train_cfg or {}).get("allowed_border", -1))
        if border < 0:
            return None
        pad = meta.get("pad_shape", meta["img_shape"])
        flags = torch.cat(self.prior_generator.valid_flags(featmap_sizes, tuple(pad[:2]), device=anchors.device))
        h, w = meta["img_shape"][:2]
        inside = ((anchors[:, 0] >= -border) & (anchors[:, 1] >= -border)
                  & (anchors[:, 2] < w + border) & (anchors[:, 3] < h + border))
        return flags & inside

    def _assign(self, anchors: torch.Tensor, num_level_anchors: list[int], gt_bboxes: torch.Tensor,
                gt_bboxes_ignore: torch.Tensor | None, gt_labels: torch.Tensor | None) -> Any:
        """Run the assigner; ATSS-type assigners also take the anchors per level."""
        if self._per_level_assigner:
            return self.assigner.assign(anchors, num_level_anchors, gt_bboxes, gt_labels, gt_bboxes_ignore)
        return self.assigner.assign(anchors, gt_bboxes, gt_labels, gt_bboxes_ignore)

    def _get_targets_single(self, anchors: torch.Tensor, valid: torch.Tensor | None,
                            num_level_anchors: list[int], gt_bboxes: torch.Tensor,
                            gt_bboxes_ignore: torch.Tensor | None, gt_labels: torch.Tensor | None
                            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, int, int]:
        num_all = anchors.shape[0]
        if valid is not None:
            # Level sizes inside the image, for assigners that work per level.
            num_level_anchors = [int(v.sum()) for v in valid.split(num_level_anchors)]
            anchors = anchors[valid]
        n = anchors.shape[0]
        labels = anchors.new_full((n,), self.num_classes, dtype=torch.long)
        label_weights = anchors.new_zeros((n,))
        bbox_targets = anchors.new_zeros((n, 4))
        bbox_weights = anchors.new_zeros((n, 4))
        num_pos = num_neg = 0
        if n > 0:
            assign_result = self._assign(anchors, num_level_anchors, gt_bboxes, gt_bboxes_ignore,
                                         None if self.sampling else gt_labels)
            res = self.sampler.sample(assign_result, anchors, gt_bboxes)
            pos, neg = res.pos_inds, res.neg_inds
            num_pos, num_neg = int(pos.numel()), int(neg.numel())
            if num_pos:
                if self.reg_decoded_bbox:
                    bbox_targets[pos] = res.pos_gt_bboxes.to(bbox_targets.dtype)
                else:
                    bbox_targets[pos] = self.bbox_coder.encode(res.pos_priors, res.pos_gt_bboxes).to(
                        bbox_targets.dtype)
                bbox_weights[pos] = 1.0
                labels[pos] = 0 if gt_labels is None else gt_labels[res.pos_assigned_gt_inds].long()
                pos_weight = float((self.train_cfg or {}).get("pos_weight", -1))
                label_weights[pos] = 1.0 if pos_weight <= 0 else pos_weight
            if num_neg:
                label_weights[neg] = 1.0
        if valid is not None:
            labels = _unmap(labels, num_all, valid, self.num_classes)
            label_weights = _unmap(label_weights, num_all, valid, 0)
            bbox_targets = _unmap(bbox_targets, num_all, valid, 0)
            bbox_weights = _unmap(bbox_weights, num_all, valid, 0)
        return labels, label_weights, bbox_targets, bbox_weights, num_pos, num_neg

    # ------------------------------------------------------------------ loss
    def _prepare_loss(self, cls_scores: list[torch.Tensor], gt_bboxes: list[torch.Tensor],
                      gt_labels: list[torch.Tensor] | None, img_metas: list[dict[str, Any]],
                      gt_bboxes_ignore: list[torch.Tensor] | None
                      ) -> tuple[torch.Tensor, list[int], AnchorTargets]:
        featmap_sizes = [(int(c.shape[-2]), int(c.shape[-1])) for c in cls_scores]
        mlvl = self._flat_priors(featmap_sizes, cls_scores[0].dtype, cls_scores[0].device)
        num_level = [m.shape[0] for m in mlvl]
        anchors = torch.cat(mlvl)
        targets = self.get_targets(anchors, num_level, featmap_sizes, gt_bboxes, gt_labels, img_metas,
                                   gt_bboxes_ignore)
        return anchors, num_level, targets

    def anchor_losses(self, cls_scores: list[torch.Tensor], bbox_preds: list[torch.Tensor],
                      gt_bboxes: list[torch.Tensor], gt_labels: list[torch.Tensor] | None,
                      img_metas: list[dict[str, Any]], gt_bboxes_ignore: list[torch.Tensor] | None = None
                      ) -> dict[str, torch.Tensor]:
        """``dict(loss_cls, loss_bbox)`` over all levels and images at once.

        A head with these two outputs returns this from its ``loss``; the base defines no
        ``loss`` itself, so heads with more outputs (ATSS's centerness) keep MMDetection's
        ``loss(cls_scores, bbox_preds, centernesses, gt_bboxes, ...)`` as a valid override.

        Equals MMDetection's per-level sum: both losses are sums divided by the same
        ``avg_factor`` (positives, or positives + negatives when sampling).
        """
        anchors, _, t = self._prepare_loss(cls_scores, gt_bboxes, gt_labels, img_metas, gt_bboxes_ignore)
        if self.sampling:
            num_samples = float(sum(t.num_pos) + sum(t.num_neg))
        else:
            num_samples = float(sum(max(p, 1) for p in t.num_pos))
        num_samples = max(num_samples, 1.0)
        cls = levels_to_flat(cls_scores, self.cls_out_channels).reshape(-1, self.cls_out_channels)
        loss_cls = self.loss_cls(cls, t.labels.reshape(-1), t.label_weights.reshape(-1),
                                 avg_factor=num_samples)
        reg = levels_to_flat(bbox_preds, 4)
        pos = t.bbox_weights[..., 0] > 0
        if bool(pos.any()):
            pos_reg = reg[pos]
            if self.reg_decoded_bbox:
                pos_anchors = anchors.unsqueeze(0).expand(reg.shape[0], -1, -1)[pos]
                pos_reg = self.bbox_coder.decode(pos_anchors, pos_reg)
            loss_bbox = self.loss_bbox(pos_reg, t.bbox_targets[pos], t.bbox_weights[pos],
                                       avg_factor=num_samples)
        else:
            loss_bbox = reg.sum() * 0.0
        return {"loss_cls": loss_cls, "loss_bbox": loss_bbox}


def _unmap(data: torch.Tensor, count: int, mask: torch.Tensor, fill: float) -> torch.Tensor:
    out = data.new_full((count,) + tuple(data.shape[1:]), fill)
    out[mask] = data
    return out

