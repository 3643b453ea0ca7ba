"""Cascade R-CNN (Cai & Vasconcelos): a two-stage detector whose RoI head refines boxes in stages."""
from __future__ import annotations

from .two_stage import TwoStageDetector

__all__ = ["CascadeRCNN"]


class CascadeRCNN(TwoStageDetector):
    """A ``TwoStageDetector`` with a ``CascadeRoIHead``.

    The assembly is the two-stage one; what differs lives in the config: ``roi_head`` holds
    ``num_stages``, ``stage_loss_weights`` and one ``bbox_head`` (and ``mask_head``) per stage,
    and ``train_cfg.rcnn`` is a list with one ``assigner``/``sampler`` section per stage, handed
    to the RoI head as its ``train_cfg``. With a mask branch the config is Cascade Mask R-CNN.
    """
