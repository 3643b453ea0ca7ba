"""The region proposal network alone: a proposal-only detector, evaluated with the ``proposal`` metric."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import torch

from ...registry.slots import Slot
from .base import BaseDetector
from .two_stage import build_rpn_head, section

__all__ = ["RPN"]

Result = dict[str, torch.Tensor]


class RPN(BaseDetector):
    """Backbone, optional neck and an RPN head; inference returns class-agnostic proposals.

    Args:
        backbone: config (group ``backbones``).
        neck: config (group ``necks``); ``in_channels`` filled from the backbone when omitted.
        rpn_head: config (group ``heads``), e.g. ``RPNHead``; ``in_channels`` filled from the
            neck, ``train_cfg``/``test_cfg`` are this detector's ``train_cfg.rpn``/``test_cfg.rpn``.
        train_cfg: ``dict(rpn=dict(assigner=..., sampler=..., allowed_border, pos_weight))``.
        test_cfg: ``dict(rpn=dict(nms_pre, max_per_img, nms, min_bbox_size))``.
        pretrained: deprecated; checkpoint of the backbone.
        init_cfg: ``dict(type='Pretrained', checkpoint=...)`` loaded by ``init_weights()``.

    Inference returns, per image, ``dict(bboxes (N, 4), scores (N,), labels (N,) all 0)``: at most
    ``test_cfg.rpn.max_per_img`` proposals, in original-image pixels when ``rescale``. Evaluate
    them with ``evaluation = dict(metric='proposal')`` (``AR@100``, ``AR@300``, ``AR@1000``).
    """

    slots: ClassVar[dict[str, Slot]] = {
        "backbone": Slot("backbones", optional=False),
        "neck": Slot("necks", fills=("in_channels",)),
        "rpn_head": Slot("heads", fills=("in_channels", "train_cfg", "test_cfg"), optional=False,
                         passes={"train_cfg": "train_cfg.rpn", "test_cfg": "test_cfg.rpn"}),
    }

    def __init__(
        self,
        backbone: Mapping[str, Any],
        neck: Mapping[str, Any] | None = None,
        rpn_head: Mapping[str, Any] | None = None,
        train_cfg: Mapping[str, Any] | None = None,
        test_cfg: Mapping[str, Any] | None = None,
        pretrained: str | None = None,
        init_cfg: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if rpn_head is None:
            raise ValueError("RPN needs an rpn_head config (e.g. type='RPNHead')")
        upstream = self._build_backbone_and_neck(backbone, neck, pretrained)
        self.rpn_head = build_rpn_head(rpn_head, upstream, section(train_cfg, "rpn"), section(test_cfg, "rpn"))
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        self.init_cfg = dict(init_cfg) if init_cfg is not None else None

    def init_weights(self) -> None:
        """Initialise backbone, neck and head, then load a whole-detector ``init_cfg`` checkpoint."""
        self._init_parts(self.backbone, self.neck, self.rpn_head)

    def forward_dummy(self, img: torch.Tensor) -> Any:
        """Raw RPN outputs, for FLOP counting and export."""
        return self.rpn_head(self.extract_feat(img))

    def forward_train(self, img: torch.Tensor, img_metas: list[dict[str, Any]],
                      gt_bboxes: list[torch.Tensor], gt_labels: list[torch.Tensor] | None = None,
                      gt_bboxes_ignore: list[torch.Tensor] | None = None) -> dict[str, Any]:
        """``dict(loss_rpn_cls, loss_rpn_bbox)``; ``gt_labels`` are ignored (objectness only)."""
        return self.rpn_head.forward_train(self.extract_feat(img), img_metas, gt_bboxes, None,
                                           gt_bboxes_ignore=gt_bboxes_ignore)

    def simple_test(self, img: torch.Tensor, img_metas: list[dict[str, Any]],
                    rescale: bool = True) -> list[Result]:
        """Proposals per image as ``dict(bboxes, scores, labels)`` (original pixels when ``rescale``)."""
        return self.rpn_head.simple_test(self.extract_feat(img), img_metas, rescale=rescale)

    def aug_test(self, imgs: list[torch.Tensor], img_metas: list[list[dict[str, Any]]],
                 rescale: bool = True) -> list[Result]:
        """Proposals of every view mapped back to the original image and merged by NMS."""
        return self.rpn_head.aug_test([self.extract_feat(img) for img in imgs], img_metas, rescale=rescale)
