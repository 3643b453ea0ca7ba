"""Single-stage detectors: backbone -> (neck) -> dense head."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import torch

from ...errors import ShapeMismatchError
from ...registry import build, describe_location
from ...registry.slots import Slot
from ..builder import check_prior_strides, output_channels
from .base import BaseDetector

__all__ = ["SingleStageDetector", "RetinaNet", "ATSS", "FCOS"]


def _uniform_channels(channels: Any) -> int:
    """A dense head shares its weights across levels, so every level needs the same width."""
    if isinstance(channels, int):
        return channels
    if len(set(channels)) != 1:
        raise ShapeMismatchError(
            f"a dense head needs the same channels on every input level, but upstream produces {channels}; "
            "put a neck (e.g. FPN) with one out_channels between backbone and head"
        )
    return int(channels[0])


class SingleStageDetector(BaseDetector):
    """Backbone, optional neck and a dense head that predicts boxes directly.

    Args:
        backbone: config (group ``backbones``).
        neck: config (group ``necks``); ``in_channels`` is taken from the backbone when omitted.
        bbox_head: config (group ``heads``); ``in_channels`` is taken from the neck (or backbone)
            when omitted; ``train_cfg``/``test_cfg`` are passed on to it.
        train_cfg: ``dict(assigner=..., sampler=..., allowed_border=-1, pos_weight=-1)``.
        test_cfg: ``dict(nms_pre, min_bbox_size, score_thr, nms, max_per_img)``.
        pretrained: deprecated; checkpoint of the backbone (use the backbone's ``init_cfg``).
        init_cfg: ``dict(type='Pretrained', checkpoint=...)``: a whole-detector checkpoint loaded
            by ``init_weights()``.

    Inference returns, per image, ``dict(bboxes (N, 4), scores (N,), labels (N,))``.
    """

    slots: ClassVar[dict[str, Slot]] = {
        "backbone": Slot("backbones", optional=False),
        "neck": Slot("necks", fills=("in_channels", "in_strides")),
        "bbox_head": Slot("heads", fills=("in_channels",), optional=False,
                          passes={"train_cfg": "train_cfg", "test_cfg": "test_cfg"}),
    }

    def __init__(
        self,
        backbone: Mapping[str, Any],
        neck: Mapping[str, Any] | None = None,
        bbox_head: Mapping[str, Any] | None = None,
        train_cfg: Mapping[str, Any] | None = None,
        test_cfg: Mapping[str, Any] | None = None,
        pretrained: str | None = None,
        init_cfg: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if bbox_head is None:
            raise ValueError("SingleStageDetector needs a bbox_head config")
        upstream = self._build_backbone_and_neck(backbone, neck, pretrained)
        self.bbox_head = self._build_head(bbox_head, upstream, train_cfg, test_cfg)
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        self.init_cfg = dict(init_cfg) if init_cfg is not None else None

    def init_weights(self) -> None:
        """Initialise backbone, neck and head (loading their pretrained weights), then, for
        ``init_cfg=dict(type='Pretrained', checkpoint=...)``, the whole-detector checkpoint.

        Training calls this once before the first iteration; construction reads no file.
        """
        self._init_parts(self.backbone, self.neck, self.bbox_head)

    @staticmethod
    def _build_head(cfg: Mapping[str, Any], upstream: Any, train_cfg: Mapping[str, Any] | None,
                    test_cfg: Mapping[str, Any] | None) -> Any:
        provided = _uniform_channels(output_channels(upstream))
        given = cfg.get("in_channels")
        if given is not None and given != provided:
            raise ShapeMismatchError(
                f"{describe_location(cfg, 'in_channels')} is {given!r} but {type(upstream).__name__} "
                f"produces {provided!r} channels; remove in_channels to take it from upstream, "
                f"or set it to {provided!r}"
            )
        defaults: dict[str, Any] = {"in_channels": provided}
        # As in MMDetection, the detector's train/test cfg is the head's unless the head sets its own.
        if train_cfg is not None:
            defaults["train_cfg"] = train_cfg
        if test_cfg is not None:
            defaults["test_cfg"] = test_cfg
        if cfg.get("train_cfg") is None:
            cfg = {k: v for k, v in cfg.items() if k != "train_cfg"} if "train_cfg" in cfg else cfg
        if cfg.get("test_cfg") is None:
            cfg = {k: v for k, v in cfg.items() if k != "test_cfg"} if "test_cfg" in cfg else cfg
        head = build(cfg, "heads", default_args=defaults)
        check_prior_strides(head, upstream, cfg)
        return head

    def forward_dummy(self, img: torch.Tensor) -> Any:
        """Raw head outputs, for FLOP counting and export."""
        return self.bbox_head(self.extract_feat(img))

    def forward_train(self, img: torch.Tensor, img_metas: list[dict[str, Any]],
                      gt_bboxes: list[torch.Tensor], gt_labels: list[torch.Tensor],
                      gt_bboxes_ignore: list[torch.Tensor] | None = None) -> dict[str, Any]:
        """Losses of a batch.

        Args:
            img: ``(B, 3, H, W)`` normalized, padded images.
            img_metas: per image ``img_shape``, ``pad_shape``, ``scale_factor``, ...
            gt_bboxes: per image ``(K, 4)`` boxes ``x1, y1, x2, y2`` in the resized image.
            gt_labels: per image ``(K,)`` labels in ``[0, num_classes)``.
            gt_bboxes_ignore: per image ``(K', 4)`` boxes whose anchors are ignored, or ``None``.
        """
        feats = self.extract_feat(img)
        return self.bbox_head.forward_train(feats, img_metas, gt_bboxes, gt_labels, gt_bboxes_ignore)

    def simple_test(self, img: torch.Tensor, img_metas: list[dict[str, Any]],
                    rescale: bool = True) -> list[dict[str, torch.Tensor]]:
        """Detections per image, in original-image pixels when ``rescale``."""
        return self.bbox_head.simple_test(self.extract_feat(img), img_metas, rescale=rescale)

    def aug_test(self, imgs: list[torch.Tensor], img_metas: list[list[dict[str, Any]]],
                 rescale: bool = True) -> list[dict[str, torch.Tensor]]:
        """Test-time augmentation: every augmentation mapped back, merged, then NMS per class."""
        if not hasattr(self.bbox_head, "aug_test"):
            raise NotImplementedError(f"{type(self.bbox_head).__name__} does not support test-time augmentation")
        feats = [self.extract_feat(img) for img in imgs]
        return self.bbox_head.aug_test(feats, img_metas, rescale=rescale)


class RetinaNet(SingleStageDetector):
    """RetinaNet: a ``SingleStageDetector`` whose config uses a ``RetinaHead``."""


class ATSS(SingleStageDetector):
    """ATSS: a ``SingleStageDetector`` whose config uses an ``ATSSHead``."""


class FCOS(SingleStageDetector):
    """FCOS: a ``SingleStageDetector`` whose config uses an ``FCOSHead``."""
