"""CornerHead: CornerNet's corner heatmaps, associative embeddings and offsets (Law & Deng, 2018)."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, cast

import torch
from torch import nn

from segdet.api import (
    ConvModule,
    Slot,
    batched_nms,
    bbox_mapping_back,
    bias_init_with_prob,
    build,
    empty_result,
    load_pretrained,
    rescale_and_clip,
    scale_factor_tensor,
)

from .corner_decode import decode_corners
from .corner_pool import BiCornerPool
from .heatmap_utils import draw_gaussian, gaussian_radius

__all__ = ["CornerHead"]

Result = dict[str, torch.Tensor]
# per level: tl_heats, br_heats, tl_embs, br_embs, tl_offs, br_offs
Outputs = tuple[list[Any], list[Any], list[Any], list[Any], list[Any], list[Any]]
_BN: dict[str, Any] = {"type": "BN", "requires_grad": True}
_TEST_DEFAULTS: dict[str, Any] = {
    "corner_topk": 100, "local_maximum_kernel": 3, "distance_threshold": 0.5, "num_dets": 1000,
    "max_per_img": 100, "nms": {"type": "soft_nms", "iou_threshold": 0.5, "method": "gaussian"},
}


class CornerHead(nn.Module):
    """Corner head of CornerNet: per level, a top-left and a bottom-right branch.

    Each branch is a ``BiCornerPool`` (``tl_pool``: top+left, ``br_pool``: bottom+right) followed
    by three 3x3-conv + 1x1-conv predictors: ``*_heat`` (``num_classes`` corner logits),
    ``*_emb`` (``corner_emb_channels`` embedding) and ``*_off`` (2 sub-pixel offsets).

    Args:
        num_classes: number of object classes.
        in_channels: channels of every input level (filled by the detector).
        num_feat_levels: inputs (one per hourglass stack; all are supervised, the last is
            decoded). Default 2.
        corner_emb_channels: embedding channels; 0 disables embeddings. Default 1.
        train_cfg: unused (CornerNet has no assigner); accepted for the detector's hand-down.
        test_cfg: ``corner_topk`` (100), ``local_maximum_kernel`` (3), ``distance_threshold``
            (0.5), ``num_dets`` (1000 pairs before NMS), ``score_thr`` (pairs scoring below it are
            dropped before NMS; MMDetection reads but ignores it), ``nms`` (soft NMS, gaussian),
            ``max_per_img`` (100).
        loss_heatmap: heatmap loss (probabilities vs Gaussian targets). Default ``GaussianFocalLoss``.
        loss_embedding: ``AssociativeEmbeddingLoss`` returning ``(pull, push)``; ``None`` without
            embeddings.
        loss_offset: offset loss at ground-truth corners. Default ``SmoothL1Loss``.
        feat_channels: width of the 3x3 conv of each predictor. Default 256 (fixed upstream).
        pool_feat_channels: width inside ``BiCornerPool``. Default 128 (fixed upstream).
        norm_cfg: normalisation of the corner pools. Default BN.
        init_cfg: ``None`` or ``dict(type='Pretrained', checkpoint=..., prefix=...)``.

    ``forward(feats)`` with ``num_feat_levels`` maps ``(B, in_channels, h, w)`` returns six lists
    (one entry per level): ``tl_heats``/``br_heats`` ``(B, num_classes, h, w)``,
    ``tl_embs``/``br_embs`` ``(B, corner_emb_channels, h, w)`` (or ``None``), ``tl_offs``/``br_offs``
    ``(B, 2, h, w)``.
    """

    slots: ClassVar[dict[str, Slot]] = {
        "loss_heatmap": Slot("losses"),
        "loss_embedding": Slot("losses"),
        "loss_offset": Slot("losses"),
    }

    def __init__(
        self,
        num_classes: int,
        in_channels: int,
        num_feat_levels: int = 2,
        corner_emb_channels: int = 1,
        train_cfg: Mapping[str, Any] | None = None,
        test_cfg: Mapping[str, Any] | None = None,
        loss_heatmap: Mapping[str, Any] | None = {  # noqa: B006 (never mutated)
            "type": "GaussianFocalLoss", "alpha": 2.0, "gamma": 4.0, "loss_weight": 1},
        loss_embedding: Mapping[str, Any] | None = {  # noqa: B006
            "type": "AssociativeEmbeddingLoss", "pull_weight": 0.25, "push_weight": 0.25},
        loss_offset: Mapping[str, Any] | None = {"type": "SmoothL1Loss", "beta": 1.0, "loss_weight": 1},  # noqa: B006
        feat_channels: int = 256,
        pool_feat_channels: int = 128,
        norm_cfg: Mapping[str, Any] = _BN,
        init_cfg: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if loss_heatmap is None or loss_offset is None:
            raise ValueError("CornerHead: loss_heatmap and loss_offset are required")
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.num_feat_levels = num_feat_levels
        self.corner_emb_channels = corner_emb_channels
        self.with_corner_emb = corner_emb_channels > 0
        self.train_cfg = None if train_cfg is None else dict(train_cfg)
        self.test_cfg = None if test_cfg is None else dict(test_cfg)
        self.init_cfg = None if init_cfg is None else dict(init_cfg)
        self.loss_heatmap = build(loss_heatmap, "losses")
        self.loss_offset = build(loss_offset, "losses")
        self.loss_embedding = (build(loss_embedding, "losses")
                               if self.with_corner_emb and loss_embedding is not None else None)

        def predictor(out: int) -> nn.Sequential:
            return nn.Sequential(ConvModule(in_channels, feat_channels, 3, padding=1),
                                 ConvModule(feat_channels, out, 1, act_cfg=None))

        def pool(directions: tuple[str, str]) -> BiCornerPool:
            return BiCornerPool(in_channels, directions, feat_channels=pool_feat_channels,
                                out_channels=in_channels, norm_cfg=norm_cfg)

        levels = range(num_feat_levels)
        self.tl_pool = nn.ModuleList(pool(("top", "left")) for _ in levels)
        self.br_pool = nn.ModuleList(pool(("bottom", "right")) for _ in levels)
        self.tl_heat = nn.ModuleList(predictor(num_classes) for _ in levels)
        self.br_heat = nn.ModuleList(predictor(num_classes) for _ in levels)
        if self.with_corner_emb:
            self.tl_emb = nn.ModuleList(predictor(corner_emb_channels) for _ in levels)
            self.br_emb = nn.ModuleList(predictor(corner_emb_channels) for _ in levels)
        self.tl_off = nn.ModuleList(predictor(2) for _ in levels)
        self.br_off = nn.ModuleList(predictor(2) for _ in levels)
        self._init_predictors()

    def init_weights(self) -> None:
        """Re-initialise the predictors, then load the ``init_cfg`` checkpoint if there is one."""
        self._init_predictors()
        if self.init_cfg is not None and self.init_cfg.get("type") == "Pretrained":
            load_pretrained(self, str(self.init_cfg["checkpoint"]), prefix=self.init_cfg.get("prefix"))

    def _init_predictors(self) -> None:
        """PyTorch's conv init for the last predictor convs; heatmaps start at probability 0.1."""
        bias = bias_init_with_prob(0.1)
        heats = [self.tl_heat, self.br_heat]
        others = [self.tl_off, self.br_off] + ([self.tl_emb, self.br_emb] if self.with_corner_emb else [])
        for layers in heats + others:
            for branch in layers:
                conv = cast(nn.Sequential, branch)[-1].conv
                assert isinstance(conv, nn.Conv2d) and conv.bias is not None
                conv.reset_parameters()
                if layers in heats:
                    nn.init.constant_(conv.bias, bias)

    def forward(self, feats: Sequence[torch.Tensor]) -> Outputs:
        if len(feats) != self.num_feat_levels:
            raise ValueError(f"CornerHead has num_feat_levels={self.num_feat_levels} but got {len(feats)} "
                             "feature maps; set num_feat_levels to the backbone's num_stacks")
        outs: Outputs = ([], [], [], [], [], [])
        for i, x in enumerate(feats):
            tl, br = self.tl_pool[i](x), self.br_pool[i](x)
            outs[0].append(self.tl_heat[i](tl))
            outs[1].append(self.br_heat[i](br))
            outs[2].append(self.tl_emb[i](tl) if self.with_corner_emb else None)
            outs[3].append(self.br_emb[i](br) if self.with_corner_emb else None)
            outs[4].append(self.tl_off[i](tl))
            outs[5].append(self.br_off[i](br))
        return outs

    # ---------------------------------------------------------------- training
    def get_targets(self, gt_bboxes: Sequence[torch.Tensor], gt_labels: Sequence[torch.Tensor],
                    feat_shape: Sequence[int], img_shape: Sequence[int]) -> dict[str, Any]:
        """Gaussian corner heatmaps ``(B, C, h, w)``, offsets ``(B, 2, h, w)`` and corner matches.

        A box's corners are scaled to the feature map; each gets a Gaussian of CornerNet's radius
        (IoU 0.3) at its integer position, the fractional part as offset target there, and the
        pair ``[[tl_y, tl_x], [br_y, br_x]]`` for the embedding loss.
        """
        batch, _, height, width = feat_shape
        ref = gt_bboxes[0] if len(gt_bboxes) else torch.zeros(0, 4)
        w_ratio, h_ratio = width / float(img_shape[1]), height / float(img_shape[0])
        tl_heat = ref.new_zeros((batch, self.num_classes, height, width))
        br_heat = torch.zeros_like(tl_heat)
        tl_off = ref.new_zeros((batch, 2, height, width))
        br_off = torch.zeros_like(tl_off)
        matches: list[list[list[list[int]]]] = []
        for b in range(batch):
            pairs: list[list[list[int]]] = []
            boxes = gt_bboxes[b].detach().float().cpu().tolist()
            labels = gt_labels[b].cpu().tolist()
            for (left, top, right, bottom), label in zip(boxes, labels):
                sl, sr, st, sb = left * w_ratio, right * w_ratio, top * h_ratio, bottom * h_ratio
                li, ri = int(min(sl, width - 1)), int(min(sr, width - 1))
                ti, bi = int(min(st, height - 1)), int(min(sb, height - 1))
                radius = max(0, int(gaussian_radius((math.ceil(sb - st), math.ceil(sr - sl)), 0.3)))
                draw_gaussian(tl_heat[b, label], (li, ti), radius)
                draw_gaussian(br_heat[b, label], (ri, bi), radius)
                tl_off[b, 0, ti, li], tl_off[b, 1, ti, li] = sl - li, st - ti
                br_off[b, 0, bi, ri], br_off[b, 1, bi, ri] = sr - ri, sb - bi
                pairs.append([[ti, li], [bi, ri]])
            matches.append(pairs)
        return {"topleft_heatmap": tl_heat, "bottomright_heatmap": br_heat, "topleft_offset": tl_off,
                "bottomright_offset": br_off, "corner_embedding": matches}

    def forward_train(self, x: Sequence[torch.Tensor], img_metas: list[dict[str, Any]],
                      gt_bboxes: list[torch.Tensor], gt_labels: list[torch.Tensor],
                      gt_bboxes_ignore: list[torch.Tensor] | None = None) -> dict[str, list[torch.Tensor]]:
        """Losses of a batch: ``det_loss``, ``off_loss`` and (with embeddings) ``pull_loss``,
        ``push_loss``, each a list with one entry per level."""
        outs: Outputs = self(x)
        return self.loss(*outs, gt_bboxes, gt_labels, img_metas)

    def loss(self, tl_heats: list[torch.Tensor], br_heats: list[torch.Tensor], tl_embs: list[Any],
             br_embs: list[Any], tl_offs: list[torch.Tensor], br_offs: list[torch.Tensor],
             gt_bboxes: list[torch.Tensor], gt_labels: list[torch.Tensor],
             img_metas: list[dict[str, Any]]) -> dict[str, list[torch.Tensor]]:
        meta = img_metas[0]
        img_shape = meta.get("batch_input_shape") or meta["pad_shape"]
        targets = self.get_targets(gt_bboxes, gt_labels, tl_heats[-1].shape, img_shape)
        out: dict[str, list[torch.Tensor]] = {"det_loss": [], "off_loss": []}
        if self.loss_embedding is not None:
            out.update(pull_loss=[], push_loss=[])
        for lvl in range(self.num_feat_levels):
            losses = self._loss_single(tl_heats[lvl], br_heats[lvl], tl_embs[lvl], br_embs[lvl],
                                       tl_offs[lvl], br_offs[lvl], targets)
            for key, value in losses.items():
                out[key].append(value)
        return out

    def _loss_single(self, tl_hmp: torch.Tensor, br_hmp: torch.Tensor, tl_emb: Any, br_emb: Any,
                     tl_off: torch.Tensor, br_off: torch.Tensor, targets: dict[str, Any]) -> dict[str, torch.Tensor]:
        gt_tl, gt_br = targets["topleft_heatmap"], targets["bottomright_heatmap"]
        tl_det = self.loss_heatmap(tl_hmp.sigmoid(), gt_tl, avg_factor=max(1, int(gt_tl.eq(1).sum())))
        br_det = self.loss_heatmap(br_hmp.sigmoid(), gt_br, avg_factor=max(1, int(gt_br.eq(1).sum())))
        # offsets are learnt only where a corner really is (class-agnostic mask, (B, 1, h, w))
        tl_mask = gt_tl.eq(1).sum(1).gt(0).unsqueeze(1).type_as(gt_tl).expand_as(tl_off)
        br_mask = gt_br.eq(1).sum(1).gt(0).unsqueeze(1).type_as(gt_br).expand_as(br_off)
        tl_o = self.loss_offset(tl_off, targets["topleft_offset"], tl_mask,
                                avg_factor=max(1.0, float(tl_mask[:, :1].sum())))
        br_o = self.loss_offset(br_off, targets["bottomright_offset"], br_mask,
                                avg_factor=max(1.0, float(br_mask[:, :1].sum())))
        losses = {"det_loss": (tl_det + br_det) / 2.0, "off_loss": (tl_o + br_o) / 2.0}
        if self.loss_embedding is not None:
            pull, push = self.loss_embedding(tl_emb, br_emb, targets["corner_embedding"])
            losses.update(pull_loss=pull, push_loss=push)
        return losses

    # ---------------------------------------------------------------- inference
    def _test_cfg(self) -> dict[str, Any]:
        return {**_TEST_DEFAULTS, **(self.test_cfg or {})}

    def get_bboxes(self, tl_heats: list[torch.Tensor], br_heats: list[torch.Tensor], tl_embs: list[Any],
                   br_embs: list[Any], tl_offs: list[torch.Tensor], br_offs: list[torch.Tensor],
                   img_metas: list[dict[str, Any]], rescale: bool = False, with_nms: bool = True) -> list[Result]:
        """Detections per image from the last level: ``dict(bboxes (N, 4), scores (N,), labels (N,))``,
        in original-image pixels when ``rescale``, else in the network input."""
        cfg = self._test_cfg()
        results = []
        for i, meta in enumerate(img_metas):
            bboxes, scores, labels = decode_corners(
                _last(tl_heats, i).sigmoid(), _last(br_heats, i).sigmoid(), _last(tl_offs, i), _last(br_offs, i),
                _last(tl_embs, i), _last(br_embs, i), meta, k=int(cfg["corner_topk"]), kernel=int(cfg["local_maximum_kernel"]),
                distance_threshold=float(cfg["distance_threshold"]), num_dets=int(cfg["num_dets"]))
            bboxes, scores, labels = bboxes[0], scores[0], labels[0]
            keep = scores > max(-0.1, float(cfg.get("score_thr", -0.1)))  # rejected pairs score -1
            result = {"bboxes": bboxes[keep], "scores": scores[keep], "labels": labels[keep]}
            if with_nms:
                result = self._nms(result, cfg)
            if rescale:
                result["bboxes"] = rescale_and_clip(result["bboxes"], meta)
            results.append(result)
        return results

    @staticmethod
    def _nms(result: Result, cfg: Mapping[str, Any]) -> Result:
        if result["bboxes"].numel() == 0:
            return empty_result(result["bboxes"].device, result["bboxes"].dtype)
        dets, keep = batched_nms(result["bboxes"], result["scores"].contiguous(), result["labels"], cfg["nms"])
        max_num = int(cfg.get("max_per_img", -1))
        if max_num > 0:
            dets, keep = dets[:max_num], keep[:max_num]
        return {"bboxes": dets[:, :4].contiguous(), "scores": dets[:, 4].contiguous(), "labels": result["labels"][keep]}

    def simple_test(self, feats: Sequence[torch.Tensor], img_metas: list[dict[str, Any]],
                    rescale: bool = True) -> list[Result]:
        """Detections per image, in original-image pixels when ``rescale``."""
        outs: Outputs = self(feats)
        return self.get_bboxes(*outs, img_metas=img_metas, rescale=rescale)

    def aug_test(self, feats_list: Sequence[Sequence[torch.Tensor]],
                 img_metas_list: Sequence[list[dict[str, Any]]], rescale: bool = True) -> list[Result]:
        """Test-time augmentation (e.g. flip, scales): every augmentation's pairs before NMS are
        mapped back to the original image, merged, then ``nms`` and ``max_per_img``."""
        cfg = self._test_cfg()
        per_aug = []
        for feats, metas in zip(feats_list, img_metas_list):
            outs: Outputs = self(feats)
            per_aug.append(self.get_bboxes(*outs, img_metas=metas, rescale=False, with_nms=False))
        results = []
        for i in range(len(img_metas_list[0])):
            merged = {
                "bboxes": torch.cat([bbox_mapping_back(aug[i]["bboxes"], metas[i])
                                     for aug, metas in zip(per_aug, img_metas_list)]),
                "scores": torch.cat([aug[i]["scores"] for aug in per_aug]),
                "labels": torch.cat([aug[i]["labels"] for aug in per_aug]),
            }
            result = self._nms(merged, cfg)
            if not rescale:  # back into the first augmentation's input
                result["bboxes"] = result["bboxes"] * scale_factor_tensor(img_metas_list[0][i], result["bboxes"])
            results.append(result)
        return results


def _last(maps: list[Any], i: int) -> Any:
    """Image ``i`` of the last level, keeping the batch dimension (``None`` stays ``None``)."""
    return None if maps[-1] is None else maps[-1][i:i + 1]
