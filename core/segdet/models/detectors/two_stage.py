"""Two-stage detectors: backbone -> (neck) -> RPN head proposals -> RoI head (boxes, masks)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import torch

from ...registry import build
from ...registry.slots import Slot
from ..builder import build_downstream, output_channels
from .base import BaseDetector
from .single_stage import _uniform_channels

__all__ = ["TwoStageDetector", "FasterRCNN", "MaskRCNN", "build_rpn_head", "section"]

Result = dict[str, torch.Tensor]


def section(cfg: Mapping[str, Any] | None, key: str) -> Any:
    """``cfg[key]`` or ``None`` (MMDetection's ``train_cfg.rpn if train_cfg is not None else None``)."""
    if cfg is None:
        return None
    return cfg.get(key)


def build_rpn_head(cfg: Mapping[str, Any], upstream: Any, train_cfg: Any, test_cfg: Any) -> Any:
    """Build an RPN head: ``in_channels`` from ``upstream``, ``train_cfg``/``test_cfg`` handed down.

    As in MMDetection the detector's sections replace whatever the head config holds.
    """
    cfg = {**dict(cfg), "train_cfg": train_cfg, "test_cfg": test_cfg}
    return build_downstream(cfg, "heads", upstream, select=_uniform_channels)


class TwoStageDetector(BaseDetector):
    """Backbone, optional neck, an RPN head proposing regions and a RoI head classifying them.

    Args:
        backbone: config (group ``backbones``).
        neck: config (group ``necks``); ``in_channels`` filled from the backbone when omitted.
        rpn_head: config (group ``heads``), e.g. ``RPNHead``; ``in_channels`` filled from the neck,
            ``train_cfg``/``test_cfg`` are the detector's ``train_cfg.rpn``/``test_cfg.rpn``.
            ``None`` for detectors fed precomputed ``proposals`` (Fast R-CNN).
        roi_head: config (group ``heads``), e.g. ``StandardRoIHead`` or ``CascadeRoIHead``;
            ``train_cfg``/``test_cfg`` are the detector's ``train_cfg.rcnn``/``test_cfg.rcnn``.
        train_cfg: ``dict(rpn=..., rpn_proposal=..., rcnn=...)`` (``rcnn`` a list per cascade stage).
            ``rpn_proposal`` configures the training proposals (default: ``test_cfg.rpn``).
        test_cfg: ``dict(rpn=..., rcnn=...)``.
        pretrained: deprecated; checkpoint of the backbone (use the backbone's ``init_cfg``).
        init_cfg: ``dict(type='Pretrained', checkpoint=...)``: a whole-detector checkpoint loaded
            by ``init_weights()``.

    Inference returns, per image, what the RoI head returns:
    ``dict(bboxes (N, 4), scores (N,), labels (N,)[, masks (N, H, W) bool])`` in original-image
    pixels when ``rescale``.
    """

    slots: ClassVar[dict[str, Slot]] = {
        "backbone": Slot("backbones", optional=False),
        "neck": Slot("necks", fills=("in_channels",)),
        "rpn_head": Slot("heads", fills=("in_channels", "train_cfg", "test_cfg"),
                         passes={"train_cfg": "train_cfg.rpn", "test_cfg": "test_cfg.rpn"}),
        "roi_head": Slot("heads", fills=("train_cfg", "test_cfg"),
                         passes={"train_cfg": "train_cfg.rcnn", "test_cfg": "test_cfg.rcnn"}),
    }

    def __init__(
        self,
        backbone: Mapping[str, Any],
        neck: Mapping[str, Any] | None = None,
        rpn_head: Mapping[str, Any] | None = None,
        roi_head: Mapping[str, Any] | None = None,
        train_cfg: Mapping[str, Any] | None = None,
        test_cfg: Mapping[str, Any] | None = None,
        pretrained: str | None = None,
        init_cfg: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if roi_head is None:
            raise ValueError(f"{type(self).__name__} needs a roi_head config (e.g. type='StandardRoIHead')")
        upstream = self._build_backbone_and_neck(backbone, neck, pretrained)
        self.rpn_head = None
        if rpn_head is not None:
            self.rpn_head = build_rpn_head(rpn_head, upstream, section(train_cfg, "rpn"),
                                           section(test_cfg, "rpn"))
        roi_cfg = {**dict(roi_head), "train_cfg": section(train_cfg, "rcnn"),
                   "test_cfg": section(test_cfg, "rcnn")}
        self.roi_head = build(roi_cfg, "heads")
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        self.init_cfg = dict(init_cfg) if init_cfg is not None else None
        # Fail at build time, not in the first iteration, when the channels cannot work.
        output_channels(upstream)

    @property
    def with_rpn(self) -> bool:
        return self.rpn_head is not None

    @property
    def with_roi_head(self) -> bool:
        return self.roi_head is not None

    @property
    def with_mask(self) -> bool:
        return bool(getattr(self.roi_head, "with_mask", False))

    def init_weights(self) -> None:
        """Initialise every part (loading their pretrained weights), then, for
        ``init_cfg=dict(type='Pretrained', checkpoint=...)``, the whole-detector checkpoint."""
        self._init_parts(self.backbone, self.neck, self.rpn_head, self.roi_head)

    def _proposal_cfg(self) -> Any:
        cfg = section(self.train_cfg, "rpn_proposal")
        return cfg if cfg is not None else section(self.test_cfg, "rpn")

    def _need_proposals(self, proposals: list[torch.Tensor] | None) -> list[torch.Tensor]:
        if proposals is None:
            raise ValueError(f"{type(self).__name__} has no rpn_head: pass precomputed proposals "
                             "(per image (N, 4) or (N, 5) boxes in the resized image)")
        return proposals

    def forward_train(self, img: torch.Tensor, img_metas: list[dict[str, Any]],  # type: ignore[override]
                      gt_bboxes: list[torch.Tensor], gt_labels: list[torch.Tensor],
                      gt_bboxes_ignore: list[torch.Tensor] | None = None,
                      gt_masks: list[torch.Tensor] | None = None,
                      proposals: list[torch.Tensor] | None = None) -> dict[str, Any]:
        """Losses of the RPN (``loss_rpn_cls``, ``loss_rpn_bbox``) and of the RoI head.

        Args:
            img: ``(B, 3, H, W)`` normalized, padded images.
            img_metas: per image ``img_shape``, ``pad_shape``, ``scale_factor``, ...
            gt_bboxes: per image ``(K, 4)`` boxes in the resized image.
            gt_labels: per image ``(K,)`` labels in ``[0, num_classes)``.
            gt_bboxes_ignore: per image ``(K', 4)`` ignored boxes, or ``None``.
            gt_masks: per image ``(K, H, W)`` uint8 masks (mask heads), or ``None``.
            proposals: per image ``(N, 4|5)`` precomputed proposals; used when there is no RPN head.
        """
        x = self.extract_feat(img)
        losses: dict[str, Any] = {}
        if self.rpn_head is not None:
            rpn_losses, proposal_list = self.rpn_head.forward_train(
                x, img_metas, gt_bboxes, gt_labels=None, gt_bboxes_ignore=gt_bboxes_ignore,
                proposal_cfg=self._proposal_cfg())
            losses.update(rpn_losses)
        else:
            proposal_list = self._need_proposals(proposals)
        roi_losses = self.roi_head.forward_train(x, img_metas, proposal_list, gt_bboxes, gt_labels,
                                                 gt_bboxes_ignore=gt_bboxes_ignore, gt_masks=gt_masks)
        for name in roi_losses:
            if name in losses:
                raise RuntimeError(f"{type(self.roi_head).__name__} returns loss {name!r}, which the RPN "
                                   "head already returns; rename one of them")
        losses.update(roi_losses)
        return losses

    def simple_test(self, img: torch.Tensor, img_metas: list[dict[str, Any]],  # type: ignore[override]
                    proposals: list[torch.Tensor] | None = None, rescale: bool = True) -> list[Result]:
        """Detections per image (original-image pixels when ``rescale``)."""
        x = self.extract_feat(img)
        if proposals is None:
            if self.rpn_head is None:
                proposals = self._need_proposals(None)
            else:
                proposals = self.rpn_head.simple_test_rpn(x, img_metas)
        return self.roi_head.simple_test(x, proposals, img_metas, rescale=rescale)

    def aug_test(self, imgs: list[torch.Tensor], img_metas: list[list[dict[str, Any]]],
                 rescale: bool = True) -> list[Result]:
        """Test-time augmentation: RPN proposals of every view merged in the original image,
        then the RoI head's merge of boxes (and masks) over the views."""
        if self.rpn_head is None or not hasattr(self.rpn_head, "aug_test_rpn"):
            raise NotImplementedError(f"{type(self).__name__}: test-time augmentation needs an RPN head "
                                      "with aug_test_rpn")
        if not hasattr(self.roi_head, "aug_test"):
            raise NotImplementedError(f"{type(self.roi_head).__name__} does not support test-time augmentation")
        feats = [self.extract_feat(img) for img in imgs]
        proposal_list = self.rpn_head.aug_test_rpn(feats, img_metas)
        return self.roi_head.aug_test(feats, proposal_list, img_metas, rescale=rescale)

    def forward_dummy(self, img: torch.Tensor) -> Any:
        """Raw RPN outputs and, as in MMDetection, the RoI head's ``forward_dummy(x, proposals)``
        on the first image's proposals ``(N, 4)``; for FLOP counting and export."""
        x = self.extract_feat(img)
        outs: tuple[Any, ...] = ()
        h, w = int(img.shape[-2]), int(img.shape[-1])
        proposals = img.new_tensor([[0.0, 0.0, float(w), float(h)]])
        if self.rpn_head is not None:
            outs = outs + (self.rpn_head(x),)
            found = self.rpn_head.simple_test_rpn(x, [{"img_shape": (h, w, 3)}])[0]
            if found.numel():
                proposals = found[:, :4]
        if hasattr(self.roi_head, "forward_dummy"):
            outs = outs + (self.roi_head.forward_dummy(x, proposals),)
        return outs


class FasterRCNN(TwoStageDetector):
    """Faster R-CNN: a ``TwoStageDetector`` with an ``RPNHead`` and a box-only ``StandardRoIHead``."""


class MaskRCNN(TwoStageDetector):
    """Mask R-CNN: a ``TwoStageDetector`` whose ``StandardRoIHead`` has a mask branch."""
