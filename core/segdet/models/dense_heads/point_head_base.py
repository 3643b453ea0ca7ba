"""Anchor-free dense head: one prior point per feature-map location (FCOS-style heads)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from ...registry import build
from ...registry.slots import Slot
from .dense_head_base import DEFAULT_TEST_CFG, DenseHeadBase

__all__ = ["PointHeadBase"]


class PointHeadBase(DenseHeadBase):
    """Base of point heads; composes a point generator, a distance box coder and the losses.

    Args:
        num_classes: object classes, background excluded.
        in_channels: channels of every input feature map.
        feat_channels: hidden channels (used by subclasses).
        strides: stride of each input level.
        bbox_coder: e.g. ``dict(type='DistancePointBBoxCoder')``.
        loss_cls, loss_bbox: loss configs (group ``losses``).
        train_cfg, test_cfg: as for :class:`AnchorHeadBase`; ``test_cfg`` drives inference.
        prior_offset: where the point sits in its cell, as a fraction of the stride (0.5: centre).
    """

    slots: ClassVar[dict[str, Slot]] = {
        "prior_generator": Slot("task_modules"),
        "bbox_coder": Slot("task_modules"),
        "loss_cls": Slot("losses", optional=False),
        "loss_bbox": Slot("losses", optional=False),
    }

    def __init__(
        self,
        num_classes: int,
        in_channels: int,
        feat_channels: int,
        strides: Sequence[int],
        bbox_coder: Mapping[str, Any],
        loss_cls: Mapping[str, Any],
        loss_bbox: Mapping[str, Any],
        train_cfg: Mapping[str, Any] | None = None,
        test_cfg: Mapping[str, Any] | None = None,
        prior_offset: float = 0.5,
    ) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.feat_channels = feat_channels
        self.strides = list(strides)
        self.use_sigmoid_cls = bool(loss_cls.get("use_sigmoid", False))
        self.cls_out_channels = num_classes if self.use_sigmoid_cls else num_classes + 1
        self.prior_generator = build(
            {"type": "MlvlPointGenerator", "strides": self.strides, "offset": prior_offset}, "task_modules")
        self.bbox_coder = build(bbox_coder, "task_modules")
        self.loss_cls = build(loss_cls, "losses")
        self.loss_bbox = build(loss_bbox, "losses")
        self.train_cfg = dict(train_cfg) if train_cfg is not None else None
        self.test_cfg = dict(test_cfg) if test_cfg is not None else dict(DEFAULT_TEST_CFG)
