"""Inference shared by the RoI heads: one pass (``simple_test``) and test-time augmentation (``aug_test``).

A head provides ``_box_predictions(x, rois, img_metas) -> (cls_score, bbox_pred, rois)`` (after
all its stages), ``_mask_probs(x, mask_rois) -> (N, K, h, w)`` probabilities, and the heads
that post-process them (``final_bbox_head``, ``final_mask_head``).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from segdet.api import (
    bbox2roi,
    bbox_mapping,
    bbox_mapping_back,
    multiclass_nms,
    scale_factor_tensor,
)

__all__ = ["RoITestMixin", "DEFAULT_RCNN_TEST_CFG"]

DEFAULT_RCNN_TEST_CFG: Mapping[str, Any] = {
    "score_thr": 0.05,
    "nms": {"type": "nms", "iou_threshold": 0.5},
    "max_per_img": 100,
    "mask_thr_binary": 0.5,
}

Result = dict[str, Tensor]


def _empty(ref: Tensor, with_mask: bool, out_shape: Sequence[int]) -> Result:
    res = {"bboxes": ref.new_zeros((0, 4)), "scores": ref.new_zeros((0,)),
           "labels": torch.zeros((0,), dtype=torch.long, device=ref.device)}
    if with_mask:
        res["masks"] = torch.zeros((0, int(out_shape[0]), int(out_shape[1])), dtype=torch.bool, device=ref.device)
    return res


def _unflip_masks(masks: Tensor, meta: Mapping[str, Any]) -> Tensor:
    """RoI masks predicted on a flipped view, mirrored back (the RoI's content was mirrored)."""
    if not meta.get("flip", False):
        return masks
    direction = meta.get("flip_direction") or "horizontal"
    dims = {"horizontal": [-1], "vertical": [-2], "diagonal": [-2, -1]}[direction]
    return masks.flip(dims)


class RoITestMixin:
    """``simple_test`` and ``aug_test`` over a head's ``_box_predictions`` and ``_mask_probs``."""

    test_cfg: Any
    with_mask: bool
    with_bbox: bool

    @property
    def rcnn_test_cfg(self) -> Mapping[str, Any]:
        """``test_cfg`` with MMDetection's defaults for keys it leaves out."""
        return {**DEFAULT_RCNN_TEST_CFG, **(self.test_cfg or {})}

    def _box_predictions(self, x: Sequence[Tensor], rois: Tensor,
                         img_metas: Sequence[Mapping[str, Any]]) -> tuple[Tensor, Tensor, Tensor]:
        raise NotImplementedError

    def _mask_probs(self, x: Sequence[Tensor], mask_rois: Tensor) -> Tensor:
        raise NotImplementedError

    @property
    def final_bbox_head(self) -> Any:
        raise NotImplementedError

    @property
    def final_mask_head(self) -> Any:
        raise NotImplementedError

    # ------------------------------------------------------------------ one pass
    def simple_test(self, x: Sequence[Tensor], proposal_list: list[Tensor], img_metas: list[dict[str, Any]],
                    rescale: bool = True) -> list[Result]:
        """Detections per image: ``dict(bboxes (N, 4), scores (N,), labels (N,)[, masks (N, H, W) bool])``.

        Args:
            x: feature maps of the batch.
            proposal_list: per image ``(N_i, 4 or 5)`` proposals in the resized image.
            img_metas: per image meta (``img_shape``, ``ori_shape``, ``scale_factor``).
            rescale: boxes and masks in original-image pixels (else in the resized image).
        """
        if not self.with_bbox:
            raise RuntimeError(f"{type(self).__name__} has no bbox_head; it cannot detect")
        cfg = self.rcnn_test_cfg
        out_shapes = [m["ori_shape"] if rescale else m["img_shape"] for m in img_metas]
        rois = bbox2roi([p.to(x[0].dtype) for p in proposal_list])
        if rois.shape[0] == 0:
            return [_empty(x[0], self.with_mask, s) for s in out_shapes]
        cls_score, bbox_pred, rois = self._box_predictions(x, rois, img_metas)
        counts = [int(p.shape[0]) for p in proposal_list]
        results = []
        for r, c, b, meta in zip(rois.split(counts), cls_score.split(counts),
                                 bbox_pred.split(counts) if bbox_pred is not None else [None] * len(counts),
                                 img_metas):
            dets, labels = self.final_bbox_head.get_bboxes(r, c, b, meta, rescale=rescale, cfg=cfg)
            results.append({"bboxes": dets[:, :4], "scores": dets[:, 4], "labels": labels})
        if self.with_mask:
            self._simple_test_mask(x, results, img_metas, out_shapes, rescale, float(cfg["mask_thr_binary"]))
        return results

    def _simple_test_mask(self, x: Sequence[Tensor], results: list[Result], img_metas: list[dict[str, Any]],
                          out_shapes: list[Sequence[int]], rescale: bool, thr: float) -> None:
        boxes = [r["bboxes"] * scale_factor_tensor(m, r["bboxes"]) if rescale else r["bboxes"]
                 for r, m in zip(results, img_metas)]
        mask_rois = bbox2roi(boxes)
        if mask_rois.shape[0] == 0:
            for r, s in zip(results, out_shapes):
                r["masks"] = _empty(x[0], True, s)["masks"]
            return
        probs = self._mask_probs(x, mask_rois).split([int(b.shape[0]) for b in boxes])
        for r, p, s in zip(results, probs, out_shapes):
            r["masks"] = self.final_mask_head.get_seg_masks(p, r["bboxes"], r["labels"], s[:2], thr)

    # ------------------------------------------------------------------ test-time augmentation
    def aug_test(self, feats_list: list[Sequence[Tensor]], proposal_list: list[Tensor],
                 img_metas_list: list[list[dict[str, Any]]], rescale: bool = True) -> list[Result]:
        """Detections merged over augmented views (MMDetection 2.x ``aug_test``).

        Args:
            feats_list: per view, the feature maps of the batch.
            proposal_list: per image ``(N_i, 4 or 5)`` proposals in **original-image** pixels
                (as the RPN's ``aug_test_rpn`` returns them).
            img_metas_list: per view, per image meta (``scale_factor``, ``flip``, ``flip_direction``).
            rescale: results in original-image pixels (else in the first view's resized image).

        Each view's boxes and class scores are mapped back to the original image and averaged,
        then NMS per class; each view's RoI mask probabilities are un-flipped and averaged
        before pasting.
        """
        if not self.with_bbox:
            raise RuntimeError(f"{type(self).__name__} has no bbox_head; it cannot detect")
        cfg = self.rcnn_test_cfg
        results = []
        for i, proposals in enumerate(proposal_list):
            metas = [metas_v[i] for metas_v in img_metas_list]
            feats = [[f[i:i + 1] for f in feats_v] for feats_v in feats_list]
            out_shape = metas[0]["ori_shape"] if rescale else metas[0]["img_shape"]
            aug_bboxes, aug_scores = [], []
            for x, meta in zip(feats, metas):
                rois = bbox2roi([bbox_mapping(proposals[:, :4].to(x[0].dtype), meta)])
                cls_score, bbox_pred, rois = self._box_predictions(x, rois, [meta])
                bboxes, scores = self.final_bbox_head.get_bboxes(rois, cls_score, bbox_pred, meta, cfg=None)
                n = bboxes.shape[0]
                aug_bboxes.append(bbox_mapping_back(bboxes.reshape(-1, 4), meta).reshape(n, -1))
                aug_scores.append(scores)
            bboxes = torch.stack(aug_bboxes).mean(0)
            scores = torch.stack(aug_scores).mean(0)
            dets, labels = multiclass_nms(bboxes, scores[:, :-1], float(cfg["score_thr"]), cfg["nms"],
                                          int(cfg["max_per_img"]))[:2]
            boxes = dets[:, :4] if rescale else dets[:, :4] * scale_factor_tensor(metas[0], dets)
            result = {"bboxes": boxes, "scores": dets[:, 4], "labels": labels}
            if self.with_mask:
                if dets.shape[0] == 0:
                    result["masks"] = _empty(dets, True, out_shape)["masks"]
                else:
                    probs = [_unflip_masks(self._mask_probs(x, bbox2roi([bbox_mapping(dets[:, :4], meta)])), meta)
                             for x, meta in zip(feats, metas)]
                    result["masks"] = self.final_mask_head.get_seg_masks(
                        torch.stack(probs).mean(0), boxes, labels, out_shape[:2], float(cfg["mask_thr_binary"]))
            results.append(result)
        return results
