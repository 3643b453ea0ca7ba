"""What every dense (one-stage) head shares: training entry, box prediction, test-time augmentation."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from ..roi_heads.bbox_utils import scale_factor_tensor

__all__ = ["DenseHeadBase", "DEFAULT_TEST_CFG", "empty_result", "bbox_mapping_back", "rescale_and_clip"]

DEFAULT_TEST_CFG: Mapping[str, Any] = {
    "nms_pre": 1000,
    "min_bbox_size": 0,
    "score_thr": 0.05,
    "nms": {"type": "nms", "iou_threshold": 0.5},
    "max_per_img": 100,
}

Result = dict[str, torch.Tensor]


def empty_result(device: torch.device | str, dtype: torch.dtype = torch.float32) -> Result:
    """A detection result without detections: shapes ``(0, 4)``, ``(0,)``, ``(0,)``."""
    return {
        "bboxes": torch.zeros((0, 4), dtype=dtype, device=device),
        "scores": torch.zeros((0,), dtype=dtype, device=device),
        "labels": torch.zeros((0,), dtype=torch.long, device=device),
    }


def rescale_and_clip(bboxes: torch.Tensor, meta: Mapping[str, Any]) -> torch.Tensor:
    """Boxes in the resized image -> original-image pixels (divide by ``scale_factor``, clip to ``ori_shape``)."""
    if bboxes.numel() == 0:
        return bboxes
    out = bboxes / scale_factor_tensor(meta, bboxes)
    ori = meta.get("ori_shape")
    if ori is not None:
        out[:, 0::2] = out[:, 0::2].clamp(0, float(ori[1]))
        out[:, 1::2] = out[:, 1::2].clamp(0, float(ori[0]))
    return out


def bbox_mapping_back(bboxes: torch.Tensor, meta: Mapping[str, Any]) -> torch.Tensor:
    """Undo one test-time augmentation: un-flip inside ``img_shape``, then undo the resize."""
    out = bboxes.clone()
    if meta.get("flip", False):
        h, w = meta["img_shape"][:2]
        direction = meta.get("flip_direction") or "horizontal"
        if direction in ("horizontal", "diagonal"):
            out[:, 0::2] = w - bboxes[:, [2, 0]]
        if direction in ("vertical", "diagonal"):
            src = out.clone()
            out[:, 1::2] = h - src[:, [3, 1]]
    return out / scale_factor_tensor(meta, out)


def _gather_priors(pred: torch.Tensor, priors: torch.Tensor, dim: int) -> torch.Tensor:
    """Rows ``priors`` of a level's ``(A*dim, H, W)`` map seen as ``(H*W*A, dim)`` (MMDetection's
    prior order), without permuting the whole map: ``(K, dim)``."""
    a = pred.shape[0] // dim
    hw = pred.shape[-2] * pred.shape[-1]
    return pred.reshape(a, dim, hw)[priors.remainder(a), :, priors.div(a, rounding_mode="floor")]


class DenseHeadBase(nn.Module):
    """Shared inference for heads predicting per-prior class scores and box regressions.

    A subclass provides ``prior_generator`` (``grid_priors``), ``bbox_coder`` (``decode``),
    ``cls_out_channels``, ``use_sigmoid_cls``, ``num_classes``, ``test_cfg``, ``forward(feats)``
    returning ``(cls_scores, bbox_preds[, score_factors])`` lists over levels, and ``loss``.
    """

    num_classes: int
    cls_out_channels: int
    use_sigmoid_cls: bool
    test_cfg: Mapping[str, Any]
    prior_generator: Any
    bbox_coder: Any

    # ------------------------------------------------------------------ training
    def forward_train(self, x: Sequence[torch.Tensor], img_metas: list[dict[str, Any]],
                      gt_bboxes: list[torch.Tensor], gt_labels: list[torch.Tensor] | None = None,
                      gt_bboxes_ignore: list[torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
        """Forward the features and return the head's losses."""
        outs = self(x)
        return self.loss(*outs, gt_bboxes, gt_labels, img_metas, gt_bboxes_ignore=gt_bboxes_ignore)

    def loss(self, *args: Any, **kwargs: Any) -> dict[str, torch.Tensor]:  # pragma: no cover
        raise NotImplementedError

    # ------------------------------------------------------------------ priors
    def _flat_priors(self, featmap_sizes: list[tuple[int, int]], dtype: torch.dtype,
                     device: torch.device, **kwargs: Any) -> list[torch.Tensor]:
        """Priors of every level, cached per feature-map sizes (they only depend on the sizes)."""
        key = (tuple(featmap_sizes), str(dtype), str(device), tuple(sorted(kwargs.items())))
        cache = self.__dict__.setdefault("_prior_cache", {})
        if key not in cache:
            if len(cache) > 16:
                cache.clear()
            cache[key] = [p.contiguous() for p in
                          self.prior_generator.grid_priors(featmap_sizes, dtype=dtype, device=device, **kwargs)]
        return cache[key]

    # ------------------------------------------------------------------ inference
    def simple_test(self, feats: Sequence[torch.Tensor], img_metas: list[dict[str, Any]],
                    rescale: bool = False) -> list[Result]:
        """Detections per image: ``dict(bboxes (N,4), scores (N,), labels (N,))``."""
        outs = self(feats)
        return self.get_bboxes(*outs, img_metas=img_metas, rescale=rescale)  # type: ignore[misc]

    def get_bboxes(self, cls_scores: list[torch.Tensor], bbox_preds: list[torch.Tensor],
                   score_factors: list[torch.Tensor] | None = None,
                   img_metas: list[dict[str, Any]] | None = None,
                   cfg: Mapping[str, Any] | None = None, rescale: bool = False,
                   with_nms: bool = True) -> list[Result]:
        """Turn raw head outputs into boxes per image.

        Args:
            cls_scores: per level ``(B, A*C, H, W)``.
            bbox_preds: per level ``(B, A*4, H, W)``.
            score_factors: per level ``(B, A, H, W)`` logits (centerness) multiplied into the
                scores after thresholding, or ``None``.
            img_metas: per image meta with ``img_shape``, ``scale_factor``, ``ori_shape``.
            cfg: ``nms_pre``, ``min_bbox_size``, ``score_thr``, ``nms``, ``max_per_img``;
                defaults to the head's ``test_cfg``.
            rescale: map boxes to the original image (divide by ``scale_factor``, clip).
            with_nms: ``False`` returns all candidates kept by ``score_thr``/``nms_pre``.
        """
        assert img_metas is not None and len(cls_scores) == len(bbox_preds)
        cfg = {**DEFAULT_TEST_CFG, **dict(cfg or self.test_cfg or {})}
        featmap_sizes = [(int(c.shape[-2]), int(c.shape[-1])) for c in cls_scores]
        priors = self._flat_priors(featmap_sizes, cls_scores[0].dtype, cls_scores[0].device)
        results = []
        for i, meta in enumerate(img_metas):
            factors = None if score_factors is None else [s[i].detach() for s in score_factors]
            results.append(self._get_bboxes_single(
                [c[i].detach() for c in cls_scores], [b[i].detach() for b in bbox_preds], factors,
                priors, meta, cfg, rescale, with_nms))
        return results

    def _get_bboxes_single(self, cls_scores: list[torch.Tensor], bbox_preds: list[torch.Tensor],
                           score_factors: list[torch.Tensor] | None, priors: list[torch.Tensor],
                           meta: Mapping[str, Any], cfg: Mapping[str, Any], rescale: bool,
                           with_nms: bool) -> Result:
        nms_pre = int(cfg.get("nms_pre", -1))
        score_thr = float(cfg.get("score_thr", 0.0))
        boxes_l, priors_l, scores_l, labels_l, factors_l = [], [], [], [], []
        box_dim = bbox_preds[0].shape[0] // max(cls_scores[0].shape[0] // self.cls_out_channels, 1)
        for lvl, (cls, reg) in enumerate(zip(cls_scores, bbox_preds)):
            if self.use_sigmoid_cls:
                keep, labels, cand = self._sigmoid_candidates(cls, nms_pre, score_thr)
                boxes_l.append(_gather_priors(reg, keep, box_dim))
            else:
                cls = cls.permute(1, 2, 0).reshape(-1, self.cls_out_channels)
                scores = cls.softmax(-1)[:, :-1]
                # Threshold then keep the nms_pre best (prior, class) pairs of the level.
                valid = scores > score_thr
                cand = scores[valid]
                idxs = valid.nonzero()
                if 0 < nms_pre < cand.numel():
                    cand, top = cand.topk(nms_pre)
                    idxs = idxs[top]
                keep, labels = idxs.unbind(1)
                boxes_l.append(reg.permute(1, 2, 0).reshape(-1, box_dim)[keep])
            priors_l.append(priors[lvl][keep])
            scores_l.append(cand)
            labels_l.append(labels)
            if score_factors is not None:
                factors_l.append(score_factors[lvl].permute(1, 2, 0).reshape(-1).sigmoid()[keep])
        scores = torch.cat(scores_l)
        labels = torch.cat(labels_l)
        img_shape = meta.get("img_shape")
        bboxes = self.bbox_coder.decode(torch.cat(priors_l), torch.cat(boxes_l),
                                        max_shape=None if img_shape is None else tuple(img_shape[:2]))
        if rescale:
            bboxes = rescale_and_clip(bboxes, meta)
        if factors_l:
            scores = scores * torch.cat(factors_l)
        min_size = float(cfg.get("min_bbox_size", 0) or 0)
        if min_size > 0 and bboxes.numel():
            wh = bboxes[:, 2:] - bboxes[:, :2]
            ok = (wh > min_size).all(1)
            bboxes, scores, labels = bboxes[ok], scores[ok], labels[ok]
        if not with_nms:
            return {"bboxes": bboxes, "scores": scores, "labels": labels}
        return self._nms(bboxes, scores, labels, cfg)

    def _sigmoid_candidates(self, cls: torch.Tensor, nms_pre: int, score_thr: float
                            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(prior index, label, score)`` of one level's candidates: the ``nms_pre`` best
        (prior, class) pairs scoring above ``score_thr``, from ``cls (A*C, H, W)`` logits.

        The same pairs and order as thresholding every sigmoid score and then taking the top
        ``nms_pre`` (MMDetection's order: by decreasing score after a top-k, else prior-major),
        but the top-k runs on the logits where they lie (sigmoid is monotonic), so the map is
        neither permuted, nor passed through sigmoid, nor compared and indexed as a whole.
        """
        c = self.cls_out_channels
        hw = cls.shape[-2] * cls.shape[-1]
        flat = cls.reshape(-1)  # (A, C, H, W) order
        if 0 < nms_pre < flat.numel():
            logits, idx = flat.topk(nms_pre)
            scores = logits.sigmoid()
            ok = scores > score_thr
            if not bool(ok.all()):  # fewer pass the threshold: MMDetection keeps them prior-major
                idx = idx[ok]
                anchor_class, pos = idx.div(hw, rounding_mode="floor"), idx.remainder(hw)
                prior = pos * (cls.shape[0] // c) + anchor_class.div(c, rounding_mode="floor")
                order = (prior * c + anchor_class.remainder(c)).argsort()
                idx, scores = idx[order], scores[ok][order]
        else:
            all_scores = flat.sigmoid()
            anchor_class_pos = (all_scores > score_thr).nonzero().squeeze(1)
            anchor_class, pos = anchor_class_pos.div(hw, rounding_mode="floor"), anchor_class_pos.remainder(hw)
            prior = pos * (cls.shape[0] // c) + anchor_class.div(c, rounding_mode="floor")
            order = (prior * c + anchor_class.remainder(c)).argsort()
            idx, scores = anchor_class_pos[order], all_scores[anchor_class_pos[order]]
        anchor_class, pos = idx.div(hw, rounding_mode="floor"), idx.remainder(hw)
        prior = pos * (cls.shape[0] // c) + anchor_class.div(c, rounding_mode="floor")
        return prior, anchor_class.remainder(c), scores

    @staticmethod
    def _nms(bboxes: torch.Tensor, scores: torch.Tensor, labels: torch.Tensor,
             cfg: Mapping[str, Any]) -> Result:
        """Per-class NMS, then the ``max_per_img`` best."""
        if bboxes.numel() == 0:
            return empty_result(bboxes.device, bboxes.dtype)
        from ...ops import batched_nms

        dets, keep = batched_nms(bboxes, scores, labels, dict(cfg["nms"]))
        max_per_img = int(cfg.get("max_per_img", -1))
        if max_per_img > 0:
            dets, keep = dets[:max_per_img], keep[:max_per_img]
        return {"bboxes": dets[:, :4].contiguous(), "scores": dets[:, 4].contiguous(), "labels": labels[keep]}

    def aug_test(self, feats_list: Sequence[Sequence[torch.Tensor]],
                 img_metas_list: Sequence[list[dict[str, Any]]], rescale: bool = False) -> list[Result]:
        """Test-time augmentation: candidates of every augmentation mapped back, merged, then NMS.

        Args:
            feats_list: per augmentation, the multi-level features of the batch.
            img_metas_list: per augmentation, the metas of the batch.
        """
        cfg = {**DEFAULT_TEST_CFG, **dict(self.test_cfg or {})}
        per_aug = []
        for feats, metas in zip(feats_list, img_metas_list):
            outs = self(feats)
            per_aug.append(self.get_bboxes(*outs, img_metas=metas, cfg=cfg, rescale=False,  # type: ignore[misc]
                                           with_nms=False))
        results = []
        for i in range(len(img_metas_list[0])):
            bboxes = torch.cat([bbox_mapping_back(aug[i]["bboxes"], metas[i])
                                for aug, metas in zip(per_aug, img_metas_list)])
            scores = torch.cat([aug[i]["scores"] for aug in per_aug])
            labels = torch.cat([aug[i]["labels"] for aug in per_aug])
            merged = self._nms(bboxes, scores, labels, cfg)
            meta0 = img_metas_list[0][i]
            if rescale:
                ori = meta0.get("ori_shape")
                if ori is not None and merged["bboxes"].numel():
                    merged["bboxes"][:, 0::2].clamp_(0, float(ori[1]))
                    merged["bboxes"][:, 1::2].clamp_(0, float(ori[0]))
            else:
                merged["bboxes"] = merged["bboxes"] * scale_factor_tensor(meta0, merged["bboxes"])
            results.append(merged)
        return results
