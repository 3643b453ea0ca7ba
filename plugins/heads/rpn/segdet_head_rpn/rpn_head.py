"""Region proposal network head (Ren et al., "Faster R-CNN"), MMDetection 2.x parameter names."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from segdet.api import AnchorHeadBase, ConvModule, batched_nms, load_pretrained, normal_init

__all__ = ["RPNHead"]

RPN_ANCHOR_GENERATOR: Mapping[str, Any] = {
    "type": "AnchorGenerator", "scales": [8, 16, 32], "ratios": [0.5, 1.0, 2.0], "strides": [4, 8, 16, 32, 64],
}
RPN_BBOX_CODER: Mapping[str, Any] = {
    "type": "DeltaXYWHBBoxCoder", "target_means": [0.0, 0.0, 0.0, 0.0], "target_stds": [1.0, 1.0, 1.0, 1.0],
}
RPN_LOSS_CLS: Mapping[str, Any] = {"type": "CrossEntropyLoss", "use_sigmoid": True, "loss_weight": 1.0}
RPN_LOSS_BBOX: Mapping[str, Any] = {"type": "SmoothL1Loss", "beta": 1.0 / 9.0, "loss_weight": 1.0}
RPN_TEST_CFG: Mapping[str, Any] = {
    "nms_pre": 1000, "max_per_img": 1000, "nms": {"type": "nms", "iou_threshold": 0.7}, "min_bbox_size": 0,
}

Proposals = list[torch.Tensor]
TrainOutput = Union[dict[str, torch.Tensor], tuple[dict[str, torch.Tensor], Proposals]]


def _proposal_cfg(cfg: Mapping[str, Any] | None) -> dict[str, Any]:
    """``cfg`` over the defaults; MMDetection's deprecated ``nms_thr`` / ``max_num`` still read."""
    out = {**RPN_TEST_CFG, **dict(cfg or {})}
    if cfg is not None and "nms" not in cfg and "nms_thr" in cfg:
        out["nms"] = {"type": "nms", "iou_threshold": float(cfg["nms_thr"])}
    if cfg is not None and "max_per_img" not in cfg and "max_num" in cfg:
        out["max_per_img"] = int(cfg["max_num"])
    return out


def _scale_vector(meta: Mapping[str, Any], ref: torch.Tensor) -> torch.Tensor:
    scale = np.asarray(meta.get("scale_factor", 1.0), dtype=np.float32).reshape(-1)
    if scale.size == 1:
        scale = np.repeat(scale, 4)
    elif scale.size == 2:
        scale = np.tile(scale, 2)
    return ref.new_tensor(scale)


def _to_original(boxes: torch.Tensor, meta: Mapping[str, Any]) -> torch.Tensor:
    """Boxes ``(N, 4)`` of one augmented view -> the original image (undo flip, then resize)."""
    out = boxes.clone()
    if meta.get("flip", False):
        h, w = meta["img_shape"][:2]
        direction = meta.get("flip_direction") or "horizontal"
        if direction in ("horizontal", "diagonal"):
            out[:, 0::2] = w - boxes[:, [2, 0]]
        if direction in ("vertical", "diagonal"):
            out[:, 1::2] = h - out[:, [3, 1]].clone()
    return out / _scale_vector(meta, out)


class RPNHead(AnchorHeadBase):
    """``num_convs`` 3x3 convs (``rpn_conv``), then objectness ``rpn_cls`` and deltas ``rpn_reg`` (1x1).

    Objectness is one class (``num_classes=1``): a sigmoid logit per anchor with
    ``CrossEntropyLoss(use_sigmoid=True)``, or a background/foreground pair with softmax.

    Args:
        in_channels: channels of every input level (filled from the neck when omitted).
        feat_channels: width of ``rpn_conv``. Default 256.
        num_convs: 3x3 convs before the predictors. With 1 the conv is a plain ``nn.Conv2d``
            (key ``rpn_conv.weight``), with more a stack of ``ConvModule`` (``rpn_conv.0.conv.weight``).
        anchor_generator: default scales ``[8, 16, 32]``, ratios ``[0.5, 1, 2]``, strides ``4..64``.
        bbox_coder: default ``DeltaXYWHBBoxCoder`` with means 0, stds 1.
        loss_cls: default ``CrossEntropyLoss(use_sigmoid=True)``.
        loss_bbox: default ``SmoothL1Loss(beta=1/9)`` (MMDetection's; its configs use ``L1Loss``).
        reg_decoded_bbox: apply ``loss_bbox`` to decoded boxes. Default False.
        train_cfg: the detector's ``train_cfg.rpn``: ``assigner``, ``sampler``, ``allowed_border``,
            ``pos_weight``.
        test_cfg: the detector's ``test_cfg.rpn``: ``nms_pre`` (best anchors kept per level),
            ``nms=dict(type='nms', iou_threshold=0.7)``, ``max_per_img``, ``min_bbox_size``.
        init_cfg: ``None`` or ``dict(type='Pretrained', checkpoint=...)`` read by ``init_weights()``.

    Shapes: ``forward(feats)`` with ``feats[l]: (B, in_channels, H_l, W_l)`` returns
    ``cls_scores[l]: (B, A*cls_out, H_l, W_l)`` and ``bbox_preds[l]: (B, A*4, H_l, W_l)``;
    proposals are ``(N, 5)`` rows ``x1, y1, x2, y2, score`` in the resized image.

    Example:
        >>> head = RPNHead(in_channels=8, feat_channels=8)
        >>> head(tuple(torch.randn(1, 8, s, s) for s in (16, 8, 4, 2, 1)))[0][0].shape
        torch.Size([1, 9, 16, 16])
    """

    def __init__(
        self,
        in_channels: int,
        feat_channels: int = 256,
        num_convs: int = 1,
        anchor_generator: Mapping[str, Any] = RPN_ANCHOR_GENERATOR,
        bbox_coder: Mapping[str, Any] = RPN_BBOX_CODER,
        loss_cls: Mapping[str, Any] = RPN_LOSS_CLS,
        loss_bbox: Mapping[str, Any] = RPN_LOSS_BBOX,
        reg_decoded_bbox: bool = False,
        train_cfg: Mapping[str, Any] | None = None,
        test_cfg: Mapping[str, Any] | None = None,
        init_cfg: Mapping[str, Any] | None = None,
    ) -> None:
        if num_convs < 1:
            raise ValueError(f"RPNHead: num_convs must be at least 1, got {num_convs}")
        super().__init__(1, in_channels, feat_channels, anchor_generator, bbox_coder, loss_cls, loss_bbox,
                         reg_decoded_bbox, train_cfg, test_cfg if test_cfg is not None else RPN_TEST_CFG)
        self.num_convs = num_convs
        self.rpn_conv: nn.Module
        if num_convs > 1:
            # inplace=False: the last activation is applied again in forward_single, as upstream does
            self.rpn_conv = nn.Sequential(*[
                ConvModule(in_channels if i == 0 else feat_channels, feat_channels, 3, padding=1,
                           inplace=False) for i in range(num_convs)])
        else:
            self.rpn_conv = nn.Conv2d(in_channels, feat_channels, 3, padding=1)
        self.rpn_cls = nn.Conv2d(feat_channels, self.num_base_priors * self.cls_out_channels, 1)
        self.rpn_reg = nn.Conv2d(feat_channels, self.num_base_priors * 4, 1)
        self.init_cfg = dict(init_cfg) if init_cfg is not None else None
        self._default_init()

    def _default_init(self) -> None:
        """MMDetection's init: every conv normal with std 0.01, bias 0."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                normal_init(m, std=0.01)

    def init_weights(self) -> None:
        """Re-initialise, then load the ``init_cfg`` checkpoint if it is ``type='Pretrained'``."""
        self._default_init()
        if self.init_cfg is not None and self.init_cfg.get("type") == "Pretrained":
            load_pretrained(self, str(self.init_cfg["checkpoint"]), prefix=self.init_cfg.get("prefix"))

    # ------------------------------------------------------------------ forward
    def forward_single(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One level: ``(B, C, H, W)`` -> objectness ``(B, A*cls_out, H, W)``, deltas ``(B, A*4, H, W)``."""
        x = F.relu(self.rpn_conv(x), inplace=False)
        return self.rpn_cls(x), self.rpn_reg(x)

    def forward(self, feats: Sequence[torch.Tensor]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """All levels: lists ``cls_scores``, ``bbox_preds``."""
        cls_scores, bbox_preds = [], []
        for x in feats:
            c, b = self.forward_single(x)
            cls_scores.append(c)
            bbox_preds.append(b)
        return cls_scores, bbox_preds

    # ------------------------------------------------------------------ training
    def loss(self, cls_scores: list[torch.Tensor], bbox_preds: list[torch.Tensor],
             gt_bboxes: list[torch.Tensor], gt_labels: list[torch.Tensor] | None,
             img_metas: list[dict[str, Any]], gt_bboxes_ignore: list[torch.Tensor] | None = None
             ) -> dict[str, torch.Tensor]:
        """``dict(loss_rpn_cls, loss_rpn_bbox)``; class labels are ignored (objectness only)."""
        losses = self.anchor_losses(cls_scores, bbox_preds, gt_bboxes, None, img_metas, gt_bboxes_ignore)
        return {"loss_rpn_cls": losses["loss_cls"], "loss_rpn_bbox": losses["loss_bbox"]}

    def forward_train(self, x: Sequence[torch.Tensor], img_metas: list[dict[str, Any]],  # type: ignore[override]
                      gt_bboxes: list[torch.Tensor], gt_labels: list[torch.Tensor] | None = None,
                      gt_bboxes_ignore: list[torch.Tensor] | None = None,
                      proposal_cfg: Mapping[str, Any] | None = None) -> TrainOutput:
        """Losses, and with ``proposal_cfg`` also the (detached) proposals of the batch.

        Returns:
            ``losses`` when ``proposal_cfg`` is ``None``, else ``(losses, proposal_list)`` with
            ``proposal_list[i]: (N_i, 5)`` in image ``i``'s resized frame (as MMDetection 2.x).
        """
        cls_scores, bbox_preds = self(x)
        losses = self.loss(cls_scores, bbox_preds, gt_bboxes, None, img_metas, gt_bboxes_ignore=gt_bboxes_ignore)
        if proposal_cfg is None:
            return losses
        return losses, self.get_bboxes(cls_scores, bbox_preds, img_metas=img_metas, cfg=proposal_cfg)

    # ------------------------------------------------------------------ proposals
    def get_bboxes(self, cls_scores: list[torch.Tensor], bbox_preds: list[torch.Tensor],  # type: ignore[override]
                   score_factors: list[torch.Tensor] | None = None,
                   img_metas: list[dict[str, Any]] | None = None,
                   cfg: Mapping[str, Any] | None = None, rescale: bool = False,
                   with_nms: bool = True) -> Proposals:
        """Proposals per image: ``(N, 5)`` rows ``x1, y1, x2, y2, score`` (at most ``max_per_img``).

        Per level the ``nms_pre`` best anchors are decoded; boxes not wider and taller than
        ``min_bbox_size`` are dropped; NMS runs per level (``batched_nms`` with the level as
        category), then the ``max_per_img`` best across levels are kept. ``rescale`` divides by
        the image's ``scale_factor``.
        """
        if img_metas is None:
            raise ValueError("RPNHead.get_bboxes needs img_metas")
        cfg_ = _proposal_cfg(cfg if cfg is not None else self.test_cfg)
        featmap_sizes = [(int(c.shape[-2]), int(c.shape[-1])) for c in cls_scores]
        priors = self._flat_priors(featmap_sizes, cls_scores[0].dtype, cls_scores[0].device)
        out = []
        for i, meta in enumerate(img_metas):
            props = self._proposals_single([c[i].detach() for c in cls_scores],
                                           [b[i].detach() for b in bbox_preds], priors, meta, cfg_)
            if rescale and props.numel():
                props = torch.cat([props[:, :4] / _scale_vector(meta, props), props[:, 4:]], dim=1)
            out.append(props)
        return out

    def _proposals_single(self, cls_scores: list[torch.Tensor], bbox_preds: list[torch.Tensor],
                          priors: list[torch.Tensor], meta: Mapping[str, Any],
                          cfg: Mapping[str, Any]) -> torch.Tensor:
        nms_pre = int(cfg.get("nms_pre", -1))
        scores_l, deltas_l, anchors_l, ids_l = [], [], [], []
        for lvl, (cls, reg) in enumerate(zip(cls_scores, bbox_preds)):
            cls = cls.permute(1, 2, 0)
            if self.use_sigmoid_cls:
                scores = cls.reshape(-1).sigmoid()
            else:  # foreground is channel 0 (background is the last class, as since MMDetection 2.5)
                scores = cls.reshape(-1, 2).softmax(dim=1)[:, 0]
            deltas = reg.permute(1, 2, 0).reshape(-1, 4)
            anchors = priors[lvl]
            if 0 < nms_pre < scores.shape[0]:
                scores, top = scores.topk(nms_pre)
                deltas, anchors = deltas[top], anchors[top]
            scores_l.append(scores)
            deltas_l.append(deltas)
            anchors_l.append(anchors)
            ids_l.append(torch.full((scores.shape[0],), lvl, dtype=torch.long, device=scores.device))
        scores = torch.cat(scores_l)
        img_shape = meta.get("img_shape")
        boxes = self.bbox_coder.decode(torch.cat(anchors_l), torch.cat(deltas_l),
                                       max_shape=None if img_shape is None else tuple(img_shape[:2]))
        ids = torch.cat(ids_l)
        min_size = float(cfg.get("min_bbox_size", 0) or 0)
        if min_size >= 0 and boxes.numel():
            w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
            ok = (w > min_size) & (h > min_size)
            if not bool(ok.all()):
                boxes, scores, ids = boxes[ok], scores[ok], ids[ok]
        if boxes.numel() == 0:
            return boxes.new_zeros((0, 5))
        dets, _ = batched_nms(boxes, scores, ids, dict(cfg["nms"]))
        max_per_img = int(cfg.get("max_per_img", -1))
        return dets[:max_per_img] if max_per_img > 0 else dets

    def simple_test_rpn(self, x: Sequence[torch.Tensor], img_metas: list[dict[str, Any]]) -> Proposals:
        """Proposals per image, ``(N, 5)``, in the resized (not rescaled) image, from ``test_cfg``."""
        cls_scores, bbox_preds = self(x)
        return self.get_bboxes(cls_scores, bbox_preds, img_metas=img_metas)

    def simple_test(self, feats: Sequence[torch.Tensor], img_metas: list[dict[str, Any]],
                    rescale: bool = False) -> list[dict[str, torch.Tensor]]:
        """Proposals as detection results: ``dict(bboxes (N,4), scores (N,), labels (N,) all 0)``."""
        cls_scores, bbox_preds = self(feats)
        props = self.get_bboxes(cls_scores, bbox_preds, img_metas=img_metas, rescale=rescale)
        return [_as_result(p) for p in props]

    def aug_test_rpn(self, feats_list: Sequence[Sequence[torch.Tensor]],
                     img_metas_list: Sequence[list[dict[str, Any]]]) -> Proposals:
        """Proposals of every augmentation mapped to the original image, merged by NMS.

        Returns per image ``(N, 5)`` proposals in *original-image* pixels (at most
        ``max_per_img``), as MMDetection's ``merge_aug_proposals``; a RoI head maps them into
        each augmented view.
        """
        cfg = _proposal_cfg(self.test_cfg)
        per_aug = [self.simple_test_rpn(feats, metas) for feats, metas in zip(feats_list, img_metas_list)]
        merged = []
        for i in range(len(img_metas_list[0])):
            props = torch.cat([torch.cat([_to_original(aug[i][:, :4], metas[i]), aug[i][:, 4:]], dim=1)
                               for aug, metas in zip(per_aug, img_metas_list)])
            if props.numel() == 0:
                merged.append(props.new_zeros((0, 5)))
                continue
            ids = torch.zeros(props.shape[0], dtype=torch.long, device=props.device)
            dets, _ = batched_nms(props[:, :4].contiguous(), props[:, 4].contiguous(), ids, dict(cfg["nms"]))
            max_per_img = int(cfg.get("max_per_img", -1))
            merged.append(dets[:max_per_img] if max_per_img > 0 else dets)
        return merged

    def aug_test(self, feats_list: Sequence[Sequence[torch.Tensor]],  # type: ignore[override]
                 img_metas_list: Sequence[list[dict[str, Any]]],
                 rescale: bool = False) -> list[dict[str, torch.Tensor]]:
        """Merged proposals as detection results (original-image pixels when ``rescale``)."""
        out = []
        for props, meta in zip(self.aug_test_rpn(feats_list, img_metas_list), img_metas_list[0]):
            if not rescale and props.numel():
                props = torch.cat([props[:, :4] * _scale_vector(meta, props), props[:, 4:]], dim=1)
            out.append(_as_result(props))
        return out


def _as_result(props: torch.Tensor) -> dict[str, torch.Tensor]:
    return {"bboxes": props[:, :4].contiguous(), "scores": props[:, 4].contiguous(),
            "labels": torch.zeros(props.shape[0], dtype=torch.long, device=props.device)}
