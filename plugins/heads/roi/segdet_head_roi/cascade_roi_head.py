"""Cascade R-CNN's RoI head: stages of box heads, each trained on the previous stage's refined boxes."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from segdet.api import BaseRoIHead, ConfigError, bbox2roi, build

from .standard_roi_head import _pos_labels
from .test_mixin import RoITestMixin

__all__ = ["CascadeRoIHead"]


def _per_stage(value: Any, num_stages: int, what: str) -> list[Any]:
    """A per-stage list: a list of ``num_stages`` items as it is, a single config repeated."""
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes, Mapping)):
        items = list(value)
        if len(items) != num_stages:
            raise ConfigError(f"roi_head.{what} has {len(items)} entries but num_stages is {num_stages}; "
                              "give one per stage (or a single dict used by every stage)")
        return items
    return [value] * num_stages


class CascadeRoIHead(RoITestMixin, BaseRoIHead):
    """``num_stages`` box heads (and optionally mask heads); stage ``i`` refines stage ``i-1``'s boxes.

    Args:
        num_stages: number of stages (3 in Cascade R-CNN).
        stage_loss_weights: factor of each stage's losses, e.g. ``[1, 0.5, 0.25]``.
        bbox_roi_extractor: one config for every stage, or a list (one per stage).
        bbox_head: list of box-head configs (one per stage, usually class-agnostic with
            shrinking ``target_stds``), or one config repeated.
        mask_roi_extractor: like ``bbox_roi_extractor``; ``None`` shares the box extractors.
        mask_head: list or single mask-head config (Cascade Mask R-CNN); ``None``: no masks.
        train_cfg: the detector's ``train_cfg.rcnn``: a list with one ``dict(assigner, sampler,
            mask_size, pos_weight, debug)`` per stage.
        test_cfg: the detector's ``test_cfg.rcnn``: ``score_thr``, ``nms``, ``max_per_img``,
            ``mask_thr_binary``.
        init_cfg: ``None`` or ``dict(type='Pretrained', checkpoint=..., prefix=...)``.

    Training returns ``s{i}.loss_cls``, ``s{i}.acc``, ``s{i}.loss_bbox`` (and ``s{i}.loss_mask``),
    losses multiplied by ``stage_loss_weights[i]``. At test time class scores are averaged over
    the stages, boxes come from the last stage, and mask probabilities are averaged over stages.
    """

    bbox_roi_extractor: Any
    bbox_head: Any
    mask_roi_extractor: Any
    mask_head: Any
    train_cfg: Any

    def __init__(
        self,
        num_stages: int,
        stage_loss_weights: Sequence[float],
        bbox_roi_extractor: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
        bbox_head: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
        mask_roi_extractor: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
        mask_head: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
        train_cfg: Sequence[Mapping[str, Any]] | None = None,
        test_cfg: Mapping[str, Any] | None = None,
        init_cfg: Mapping[str, Any] | None = None,
    ) -> None:
        if num_stages < 1:
            raise ConfigError(f"roi_head.num_stages must be >= 1, got {num_stages}")
        if len(stage_loss_weights) != num_stages:
            raise ConfigError(f"roi_head.stage_loss_weights has {len(stage_loss_weights)} entries but "
                              f"num_stages is {num_stages}")
        self.num_stages = num_stages
        self.stage_loss_weights = [float(w) for w in stage_loss_weights]
        super().__init__(bbox_roi_extractor, bbox_head, mask_roi_extractor, mask_head,  # type: ignore[arg-type]
                         train_cfg, test_cfg, init_cfg)

    # ------------------------------------------------------------------ building
    def init_bbox_head(self, bbox_roi_extractor: Any, bbox_head: Any) -> None:
        """One extractor and one box head per stage (``bbox_roi_extractor.i``, ``bbox_head.i``)."""
        self.bbox_roi_extractor = nn.ModuleList()
        self.bbox_head = nn.ModuleList()
        extractors = _per_stage(bbox_roi_extractor, self.num_stages, "bbox_roi_extractor")
        for ext_cfg, head_cfg in zip(extractors, _per_stage(bbox_head, self.num_stages, "bbox_head")):
            ext = self.build_roi_extractor(ext_cfg, "roi_head.bbox_roi_extractor")
            self.bbox_roi_extractor.append(ext)
            self.bbox_head.append(self.build_child_head(head_cfg, ext))

    def init_mask_head(self, mask_roi_extractor: Any, mask_head: Any) -> None:
        """One mask head per stage; extractors per stage, or shared with the box branch."""
        if mask_roi_extractor is not None:
            self.share_roi_extractor = False
            self.mask_roi_extractor = nn.ModuleList(
                self.build_roi_extractor(c, "roi_head.mask_roi_extractor")
                for c in _per_stage(mask_roi_extractor, self.num_stages, "mask_roi_extractor"))
        else:
            self.share_roi_extractor = True
            self.mask_roi_extractor = self.bbox_roi_extractor
        self.mask_head = nn.ModuleList(
            self.build_child_head(c, ext)
            for c, ext in zip(_per_stage(mask_head, self.num_stages, "mask_head"), self.mask_roi_extractor))

    def init_assigner_sampler(self) -> None:
        """One assigner and sampler per stage from the list ``train_cfg``."""
        self.bbox_assigner = []
        self.bbox_sampler = []
        if self.train_cfg is None:
            return
        self.train_cfg = _per_stage(self.train_cfg, self.num_stages, "train_cfg (train_cfg.rcnn)")
        for i, cfg in enumerate(self.train_cfg):
            if cfg.get("assigner") is None or cfg.get("sampler") is None:
                raise ConfigError(f"train_cfg.rcnn[{i}] needs 'assigner' and 'sampler'")
            self.bbox_assigner.append(build(cfg["assigner"], "task_modules"))
            self.bbox_sampler.append(build(cfg["sampler"], "task_modules"))

    @property
    def final_bbox_head(self) -> Any:
        return self.bbox_head[-1]

    @property
    def final_mask_head(self) -> Any:
        return self.mask_head[-1]

    # ------------------------------------------------------------------ forward parts
    def _bbox_forward(self, stage: int, x: Sequence[Tensor], rois: Tensor) -> tuple[Tensor, Tensor]:
        cls_score, bbox_pred = self.bbox_head[stage](self.bbox_roi_extractor[stage](x, rois))
        return cls_score, bbox_pred

    def _mask_forward(self, stage: int, x: Sequence[Tensor], rois: Tensor) -> Tensor:
        return self.mask_head[stage](self.mask_roi_extractor[stage](x, rois))

    def _regress_rois(self, stage: int, rois: Tensor, labels: Tensor, bbox_pred: Tensor,
                      img_metas: Sequence[Mapping[str, Any]]) -> Tensor:
        """Stage ``stage``'s regression applied to ``rois (N, 5)``, clipped to each image."""
        out = rois.clone()
        img_ids = rois[:, 0].long()
        for i, meta in enumerate(img_metas):
            inds = torch.nonzero(img_ids == i, as_tuple=False).squeeze(1)
            if inds.numel():
                out[inds] = self.bbox_head[stage].regress_by_class(rois[inds], labels[inds], bbox_pred[inds], meta)
        return out

    def _box_predictions(self, x: Sequence[Tensor], rois: Tensor,
                         img_metas: Sequence[Mapping[str, Any]]) -> tuple[Tensor, Tensor, Tensor]:
        scores = []
        bbox_pred = rois.new_zeros((rois.shape[0], 4))
        for stage in range(self.num_stages):
            cls_score, bbox_pred = self._bbox_forward(stage, x, rois)
            scores.append(cls_score)
            if stage < self.num_stages - 1:
                rois = self._regress_rois(stage, rois, cls_score[:, :-1].argmax(dim=1), bbox_pred, img_metas)
        return torch.stack(scores).mean(0), bbox_pred, rois

    def _mask_probs(self, x: Sequence[Tensor], mask_rois: Tensor) -> Tensor:
        return torch.stack([self._mask_forward(s, x, mask_rois).sigmoid() for s in range(self.num_stages)]).mean(0)

    def forward_dummy(self, x: Sequence[Tensor], proposals: Tensor) -> tuple[Tensor, ...]:
        """Raw outputs of every stage for ``proposals (N, 4)`` of the first image (for FLOP counting)."""
        rois = bbox2roi([proposals])
        outs: tuple[Tensor, ...] = ()
        for stage in range(self.num_stages):
            outs = outs + self._bbox_forward(stage, x, rois)
        if self.with_mask:
            outs = outs + tuple(self._mask_forward(s, x, rois[:100]) for s in range(self.num_stages))
        return outs

    # ------------------------------------------------------------------ training
    def forward_train(self, x: Sequence[Tensor], img_metas: list[dict[str, Any]], proposal_list: list[Tensor],
                      gt_bboxes: list[Tensor], gt_labels: list[Tensor],
                      gt_bboxes_ignore: list[Tensor] | None = None,
                      gt_masks: list[Tensor] | None = None) -> dict[str, Any]:
        """Losses of every stage, ``s{i}.<name>``; losses (not ``acc``) weighted by ``stage_loss_weights``.

        Args: as :meth:`StandardRoIHead.forward_train`.
        """
        if self.with_mask and gt_masks is None:
            raise ValueError(f"{type(self).__name__} has a mask_head but got no gt_masks: load them with "
                             "LoadAnnotations(with_mask=True) and add 'gt_masks' to Collect(keys=...)")
        if not self.bbox_assigner:
            raise ConfigError(f"{type(self).__name__} has no assigners: training needs train_cfg.rcnn, "
                              "a list with one dict(assigner=..., sampler=...) per stage")
        losses: dict[str, Any] = {}
        for stage in range(self.num_stages):
            weight = self.stage_loss_weights[stage]
            results = self.assign_and_sample(proposal_list, gt_bboxes, gt_labels, gt_bboxes_ignore,
                                             self.bbox_assigner[stage], self.bbox_sampler[stage])
            head = self.bbox_head[stage]
            rois = bbox2roi([res.bboxes for res in results])
            cls_score, bbox_pred = self._bbox_forward(stage, x, rois)
            targets = head.get_targets(results, gt_bboxes, gt_labels, self.train_cfg[stage])
            stage_losses = dict(head.loss(cls_score, bbox_pred, rois, *targets))
            if self.with_mask:
                pos_rois = bbox2roi([res.pos_bboxes for res in results])
                mask_pred = self._mask_forward(stage, x, pos_rois)
                mask_targets = self.mask_head[stage].get_targets(results, gt_masks, self.train_cfg[stage])
                pos_labels = torch.cat([_pos_labels(r, lb) for r, lb in zip(results, gt_labels)])
                stage_losses.update(self.mask_head[stage].loss(mask_pred, mask_targets, pos_labels))
            for name, value in stage_losses.items():
                losses[f"s{stage}.{name}"] = value * weight if "loss" in name else value
            if stage < self.num_stages - 1:
                with torch.no_grad():
                    labels = targets[0]
                    labels = torch.where(labels == head.num_classes, cls_score[:, :-1].argmax(dim=1), labels)
                    proposal_list = head.refine_bboxes(rois, labels, bbox_pred, [r.pos_is_gt for r in results],
                                                       img_metas)
        return losses
