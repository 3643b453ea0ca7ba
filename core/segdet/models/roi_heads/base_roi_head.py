"""What every RoI head shares: building its extractors, heads, assigner and sampler; sampling RoIs."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Union

import torch
from torch import Tensor, nn

from ...errors import ConfigError
from ...registry import build
from ...registry.slots import Slot
from ..builder import build_downstream
from ..task_modules import SamplingResult
from ..weights import load_pretrained

__all__ = ["BaseRoIHead"]

TrainCfg = Union[Mapping[str, Any], Sequence[Mapping[str, Any]], None]


class BaseRoIHead(nn.Module):
    """Base of RoI heads (``StandardRoIHead``, ``CascadeRoIHead``, ...), MMDetection 2.x layout.

    Builds ``bbox_roi_extractor`` (group ``task_modules``) and ``bbox_head`` (group ``heads``),
    optionally ``mask_roi_extractor`` and ``mask_head`` (the mask branch shares the box
    extractor when ``mask_roi_extractor`` is ``None``), and the ``assigner``/``sampler`` of
    ``train_cfg``. A head whose config leaves ``in_channels`` out gets its extractor's
    ``out_channels``. Subclasses override ``init_bbox_head``/``init_mask_head``/
    ``init_assigner_sampler`` to build per-stage lists, and implement ``forward_train``,
    ``simple_test`` and ``aug_test``.

    Args:
        bbox_roi_extractor: e.g. ``dict(type='SingleRoIExtractor', roi_layer=dict(type='RoIAlign',
            output_size=7, sampling_ratio=0), out_channels=256, featmap_strides=[4, 8, 16, 32])``.
        bbox_head: e.g. ``dict(type='Shared2FCBBoxHead', num_classes=80, ...)``; ``None``: no box branch.
        mask_roi_extractor: like ``bbox_roi_extractor`` (``output_size=14``), or ``None`` to share.
        mask_head: e.g. ``dict(type='FCNMaskHead', num_classes=80, ...)``; ``None``: no mask branch.
        train_cfg: the detector's ``train_cfg.rcnn``: ``dict(assigner, sampler, mask_size=28,
            pos_weight=-1, debug=False)``; ``None`` for a test-only model.
        test_cfg: the detector's ``test_cfg.rcnn``: ``dict(score_thr, nms, max_per_img,
            mask_thr_binary)``.
        init_cfg: ``None`` or ``dict(type='Pretrained', checkpoint=..., prefix=...)``, read by
            ``init_weights()``.

    Interface (MMDetection 2.x): ``forward_train(x, img_metas, proposal_list, gt_bboxes,
    gt_labels, gt_bboxes_ignore=None, gt_masks=None) -> dict`` of losses;
    ``simple_test(x, proposal_list, img_metas, rescale=True)`` and ``aug_test(feats_list,
    proposal_list, img_metas_list, rescale=True)`` -> per image ``dict(bboxes, scores, labels[, masks])``.
    """

    slots: ClassVar[dict[str, Slot]] = {
        "bbox_roi_extractor": Slot("task_modules"),
        "bbox_head": Slot("heads", fills=("in_channels",)),
        "mask_roi_extractor": Slot("task_modules"),
        "mask_head": Slot("heads", fills=("in_channels",)),
        "train_cfg.assigner": Slot("task_modules"),
        "train_cfg.sampler": Slot("task_modules"),
    }

    def __init__(
        self,
        bbox_roi_extractor: Mapping[str, Any] | None = None,
        bbox_head: Mapping[str, Any] | None = None,
        mask_roi_extractor: Mapping[str, Any] | None = None,
        mask_head: Mapping[str, Any] | None = None,
        train_cfg: TrainCfg = None,
        test_cfg: Mapping[str, Any] | None = None,
        init_cfg: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.train_cfg: Any = train_cfg
        self.test_cfg: Any = dict(test_cfg) if test_cfg is not None else None
        self.init_cfg = dict(init_cfg) if init_cfg is not None else None
        self.bbox_assigner: Any = None
        self.bbox_sampler: Any = None
        if bbox_head is not None:
            self.init_bbox_head(bbox_roi_extractor, bbox_head)
        if mask_head is not None:
            self.init_mask_head(mask_roi_extractor, mask_head)
        self.init_assigner_sampler()

    # ------------------------------------------------------------------ properties
    @property
    def with_bbox(self) -> bool:
        """Whether the head has a box branch."""
        return getattr(self, "bbox_head", None) is not None

    @property
    def with_mask(self) -> bool:
        """Whether the head has a mask branch."""
        return getattr(self, "mask_head", None) is not None

    @property
    def with_shared_head(self) -> bool:
        """Always ``False``: segdet has no C4 shared head."""
        return False

    # ------------------------------------------------------------------ building
    @staticmethod
    def build_roi_extractor(cfg: Mapping[str, Any] | None, what: str) -> Any:
        """Build one RoI extractor (group ``task_modules``); ``what`` names the key in errors."""
        if cfg is None:
            raise ConfigError(f"{what} is missing: a RoI head with a head needs its RoI extractor, e.g. "
                              "dict(type='SingleRoIExtractor', roi_layer=dict(type='RoIAlign', output_size=7, "
                              "sampling_ratio=0), out_channels=256, featmap_strides=[4, 8, 16, 32])")
        return build(cfg, "task_modules")

    @staticmethod
    def build_child_head(cfg: Mapping[str, Any], extractor: Any) -> Any:
        """Build a box or mask head; ``in_channels`` comes from ``extractor.out_channels`` when omitted."""
        if getattr(extractor, "out_channels", None) is None:
            return build(cfg, "heads")
        return build_downstream(cfg, "heads", extractor)

    def init_bbox_head(self, bbox_roi_extractor: Any, bbox_head: Any) -> None:
        """Build ``self.bbox_roi_extractor`` and ``self.bbox_head``."""
        self.bbox_roi_extractor = self.build_roi_extractor(bbox_roi_extractor, "roi_head.bbox_roi_extractor")
        self.bbox_head = self.build_child_head(bbox_head, self.bbox_roi_extractor)

    def init_mask_head(self, mask_roi_extractor: Any, mask_head: Any) -> None:
        """Build ``self.mask_roi_extractor`` (or share the box one) and ``self.mask_head``."""
        if mask_roi_extractor is not None:
            self.mask_roi_extractor = self.build_roi_extractor(mask_roi_extractor, "roi_head.mask_roi_extractor")
            self.share_roi_extractor = False
        else:
            self.share_roi_extractor = True
            self.mask_roi_extractor = getattr(self, "bbox_roi_extractor", None)
            if self.mask_roi_extractor is None:
                raise ConfigError("roi_head.mask_roi_extractor is missing and there is no bbox_roi_extractor to share")
        self.mask_head = self.build_child_head(mask_head, self.mask_roi_extractor)

    def init_assigner_sampler(self) -> None:
        """Build ``self.bbox_assigner`` and ``self.bbox_sampler`` from ``train_cfg`` (if any)."""
        cfg = self.train_cfg
        if isinstance(cfg, Mapping):
            if cfg.get("assigner") is not None:
                self.bbox_assigner = build(cfg["assigner"], "task_modules")
            if cfg.get("sampler") is not None:
                self.bbox_sampler = build(cfg["sampler"], "task_modules")

    def init_weights(self) -> None:
        """Initialise every child that can, then load ``init_cfg``'s checkpoint if it is ``Pretrained``."""
        for child in self.children():
            fn = getattr(child, "init_weights", None)
            if callable(fn):
                fn()
            elif isinstance(child, nn.ModuleList):
                for sub in child:
                    sub_fn = getattr(sub, "init_weights", None)
                    if callable(sub_fn):
                        sub_fn()
        if self.init_cfg is not None and self.init_cfg.get("type") == "Pretrained":
            load_pretrained(self, str(self.init_cfg["checkpoint"]), prefix=self.init_cfg.get("prefix"))

    # ------------------------------------------------------------------ training helpers
    def assign_and_sample(
        self,
        proposal_list: Sequence[Tensor],
        gt_bboxes: Sequence[Tensor],
        gt_labels: Sequence[Tensor],
        gt_bboxes_ignore: Sequence[Tensor] | None = None,
        assigner: Any = None,
        sampler: Any = None,
    ) -> list[SamplingResult]:
        """Assign ground truths to every image's proposals and sample the RoIs to train on.

        Args:
            proposal_list: per image ``(N_i, 4 or 5)`` proposals (a score column is ignored;
                proposals are detached: no gradient flows back into the proposal generator).
            gt_bboxes, gt_labels, gt_bboxes_ignore: per image ground truth.
            assigner, sampler: default ``self.bbox_assigner``/``self.bbox_sampler``.

        Returns:
            One :class:`SamplingResult` per image; its ``bboxes`` are positives then negatives.
        """
        assigner = assigner if assigner is not None else self.bbox_assigner
        sampler = sampler if sampler is not None else self.bbox_sampler
        if assigner is None or sampler is None:
            raise ConfigError(
                f"{type(self).__name__} has no assigner/sampler: training needs the detector's "
                "train_cfg.rcnn with 'assigner' and 'sampler' (e.g. MaxIoUAssigner, RandomSampler)"
            )
        results = []
        for i, proposals in enumerate(proposal_list):
            priors = proposals[:, :4].detach()
            ignore = None if gt_bboxes_ignore is None else gt_bboxes_ignore[i]
            labels = gt_labels[i]
            assign_result = assigner.assign(priors, gt_bboxes[i], labels, ignore)
            results.append(sampler.sample(assign_result, priors, gt_bboxes[i], labels))
        return results

    # ------------------------------------------------------------------ interface
    def forward_train(self, x: Sequence[Tensor], img_metas: list[dict[str, Any]], proposal_list: list[Tensor],
                      gt_bboxes: list[Tensor], gt_labels: list[Tensor],
                      gt_bboxes_ignore: list[Tensor] | None = None,
                      gt_masks: list[Tensor] | None = None) -> dict[str, Any]:
        """Losses of a batch (see the class docstring)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement forward_train")

    def simple_test(self, x: Sequence[Tensor], proposal_list: list[Tensor], img_metas: list[dict[str, Any]],
                    rescale: bool = True) -> list[dict[str, torch.Tensor]]:
        """Detections (and masks) per image."""
        raise NotImplementedError(f"{type(self).__name__} does not implement simple_test")

    def aug_test(self, feats_list: list[Sequence[Tensor]], proposal_list: list[Tensor],
                 img_metas_list: list[list[dict[str, Any]]], rescale: bool = True) -> list[dict[str, torch.Tensor]]:
        """Detections (and masks) per image, merged over test-time augmentations."""
        raise NotImplementedError(f"{type(self).__name__} does not implement aug_test")
