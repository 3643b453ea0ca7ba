"""CornerNet: objects as paired corners (Law & Deng, ECCV 2018)."""
from __future__ import annotations

from .single_stage import SingleStageDetector

__all__ = ["CornerNet"]


class CornerNet(SingleStageDetector):
    """CornerNet: a backbone (``HourglassNet``) whose every stack feeds a ``CornerHead``.

    The head predicts top-left and bottom-right corner heatmaps, embeddings and offsets; boxes
    are pairs of corners of one class whose embeddings agree, merged by soft NMS. Test-time
    augmentation (flip and scales of ``MultiScaleFlipAug``) merges the pairs of every
    augmentation in original-image pixels before the NMS (MMDetection instead requires
    flipped pairs and runs each pair as one batch; the merged result is the same).

    Args:
        backbone: config (group ``backbones``), usually ``HourglassNet``.
        neck: config (group ``necks``) or ``None`` (CornerNet has none).
        bbox_head: config (group ``heads``), usually ``CornerHead``; ``in_channels`` comes from
            the backbone when omitted, ``num_feat_levels`` must equal the number of backbone
            outputs.
        train_cfg: ``None`` (CornerNet has no assigner).
        test_cfg: ``dict(corner_topk, local_maximum_kernel, distance_threshold, score_thr,
            max_per_img, nms=dict(type='soft_nms', iou_threshold, method))``.
        pretrained: deprecated backbone checkpoint.
        init_cfg: whole-detector ``dict(type='Pretrained', checkpoint=...)``.
    """
