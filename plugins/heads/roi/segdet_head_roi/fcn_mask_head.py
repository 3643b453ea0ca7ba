"""Mask R-CNN's mask head: a small FCN on each positive RoI, upsampled, one mask per class."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from segdet.api import (
    ConvModule,
    SamplingResult,
    Slot,
    build,
    kaiming_init,
    load_pretrained,
    mask_target,
    paste_masks,
)

__all__ = ["FCNMaskHead"]

DEFAULT_UPSAMPLE: Mapping[str, Any] = {"type": "deconv", "scale_factor": 2}
DEFAULT_LOSS_MASK: Mapping[str, Any] = {"type": "CrossEntropyLoss", "use_mask": True, "loss_weight": 1.0}
_UPSAMPLE_TYPES = ("deconv", "nearest", "bilinear")


class FCNMaskHead(nn.Module):
    """``convs.0..N-1 (3x3) -> upsample (2x deconv) -> conv_logits (1x1)``; MMDetection 2.x names.

    Args:
        num_convs: 3x3 convs. Default 4.
        roi_feat_size: side of the input RoI feature. Default 14.
        in_channels: channels of the RoI feature. Default 256.
        conv_kernel_size: kernel of the convs. Default 3.
        conv_out_channels: width of the convs. Default 256.
        num_classes: object classes (one mask channel each). Default 80.
        class_agnostic: predict one mask per RoI instead of one per class.
        upsample_cfg: ``dict(type='deconv', scale_factor=2)`` (a learnt 2x2 transposed conv),
            ``'nearest'``/``'bilinear'`` (no parameters, ``align_corners`` for bilinear) or
            ``dict(type=None)`` (no upsampling).
        conv_cfg, norm_cfg: of the convs.
        predictor_cfg: ``dict(type='Conv')`` (the only predictor).
        loss_mask: default ``CrossEntropyLoss(use_mask=True)``: per-pixel sigmoid BCE of each
            RoI's ground-truth class channel.
        init_cfg: ``None`` or ``dict(type='Pretrained', checkpoint=..., prefix=...)``.

    Shapes: ``forward(x)`` with ``x: (N, in_channels, S, S)`` returns mask logits
    ``(N, num_classes or 1, 2S, 2S)``.

    Example:
        >>> head = FCNMaskHead(num_convs=1, in_channels=8, conv_out_channels=8, num_classes=3)
    """

    slots: ClassVar[dict[str, Slot]] = {"loss_mask": Slot("losses")}

    def __init__(
        self,
        num_convs: int = 4,
        roi_feat_size: int = 14,
        in_channels: int = 256,
        conv_kernel_size: int = 3,
        conv_out_channels: int = 256,
        num_classes: int = 80,
        class_agnostic: bool = False,
        upsample_cfg: Mapping[str, Any] = DEFAULT_UPSAMPLE,
        conv_cfg: Mapping[str, Any] | None = None,
        norm_cfg: Mapping[str, Any] | None = None,
        predictor_cfg: Mapping[str, Any] | None = None,
        loss_mask: Mapping[str, Any] = DEFAULT_LOSS_MASK,
        init_cfg: Any = None,
    ) -> None:
        super().__init__()
        method = upsample_cfg.get("type")
        if method is not None and method not in _UPSAMPLE_TYPES:
            raise ValueError(f"FCNMaskHead: upsample_cfg.type must be one of {_UPSAMPLE_TYPES} or None, "
                             f"got {method!r}")
        if predictor_cfg is not None and predictor_cfg.get("type", "Conv") not in ("Conv", "Conv2d"):
            raise ValueError(f"FCNMaskHead: predictor_cfg.type must be 'Conv', got {predictor_cfg.get('type')!r}")
        self.num_convs = num_convs
        self.roi_feat_size = (roi_feat_size, roi_feat_size)
        self.in_channels = in_channels
        self.conv_kernel_size = conv_kernel_size
        self.conv_out_channels = conv_out_channels
        self.num_classes = num_classes
        self.class_agnostic = class_agnostic
        self.upsample_method = method
        self.scale_factor = int(upsample_cfg.get("scale_factor", 2))
        self.init_cfg = init_cfg
        self.loss_mask = build(loss_mask, "losses")

        self.convs = nn.ModuleList()
        pad = (conv_kernel_size - 1) // 2
        for i in range(num_convs):
            self.convs.append(ConvModule(in_channels if i == 0 else conv_out_channels, conv_out_channels,
                                         conv_kernel_size, padding=pad, conv_cfg=conv_cfg, norm_cfg=norm_cfg))
        up_in = conv_out_channels if num_convs > 0 else in_channels
        self.upsample: nn.Module | None
        if method is None:
            self.upsample = None
        elif method == "deconv":
            self.upsample = nn.ConvTranspose2d(up_in, conv_out_channels, self.scale_factor, stride=self.scale_factor)
        else:
            align = upsample_cfg.get("align_corners") if method == "bilinear" else None
            self.upsample = nn.Upsample(scale_factor=self.scale_factor, mode=method, align_corners=align)
        logits_in = conv_out_channels if method == "deconv" else up_in
        self.conv_logits = nn.Conv2d(logits_in, 1 if class_agnostic else num_classes, 1)
        self.relu = nn.ReLU(inplace=True)
        self._default_init()

    def _default_init(self) -> None:
        """MMDetection's init: kaiming-normal (fan_out) ``upsample`` and ``conv_logits``, zero biases."""
        for m in (self.upsample, self.conv_logits):
            if m is not None and getattr(m, "weight", None) is not None:
                kaiming_init(m, mode="fan_out", nonlinearity="relu")

    def init_weights(self) -> None:
        """Re-initialise; then load ``init_cfg`` if it is ``dict(type='Pretrained', checkpoint=...)``."""
        self._default_init()
        cfg = self.init_cfg
        if isinstance(cfg, Mapping) and cfg.get("type") == "Pretrained":
            load_pretrained(self, str(cfg["checkpoint"]), prefix=cfg.get("prefix"))

    def forward(self, x: Tensor) -> Tensor:
        """``(N, C, S, S)`` RoI features -> mask logits ``(N, K, 2S, 2S)``."""
        for conv in self.convs:
            x = conv(x)
        if self.upsample is not None:
            x = self.upsample(x)
            if self.upsample_method == "deconv":
                x = self.relu(x)
        return self.conv_logits(x)

    def get_targets(self, sampling_results: Sequence[SamplingResult], gt_masks: Sequence[Any],
                    rcnn_train_cfg: Mapping[str, Any]) -> Tensor:
        """``(P, mask_size, mask_size)`` binary targets of the positive RoIs of all images."""
        if "mask_size" not in rcnn_train_cfg:
            raise ValueError("FCNMaskHead: train_cfg.rcnn needs 'mask_size' (28 in Mask R-CNN configs)")
        return mask_target([r.pos_bboxes for r in sampling_results],
                           [r.pos_assigned_gt_inds for r in sampling_results],
                           gt_masks, rcnn_train_cfg["mask_size"])

    def loss(self, mask_pred: Tensor, mask_targets: Tensor, labels: Tensor) -> dict[str, Tensor]:
        """``dict(loss_mask)``: BCE of each RoI's class channel; 0 (with a graph) without positives."""
        if mask_pred.shape[0] == 0:
            return {"loss_mask": mask_pred.sum()}
        if mask_targets.shape[-2:] != mask_pred.shape[-2:]:
            raise ValueError(f"FCNMaskHead: mask targets {tuple(mask_targets.shape[-2:])} do not match predictions "
                             f"{tuple(mask_pred.shape[-2:])}; set train_cfg.rcnn.mask_size to the head's output "
                             "size (2 x the mask RoI extractor's output_size)")
        if self.class_agnostic:
            labels = torch.zeros_like(labels)
        return {"loss_mask": self.loss_mask(mask_pred, mask_targets, labels)}

    def get_seg_masks(self, mask_probs: Tensor, det_bboxes: Tensor, det_labels: Tensor,
                      out_shape: Sequence[int], mask_thr_binary: float = 0.5) -> Tensor:
        """Paste the masks of ``N`` detections into an image of ``out_shape`` ``(H, W)``.

        Args:
            mask_probs: ``(N, K, h, w)`` probabilities (sigmoid of :meth:`forward`).
            det_bboxes: ``(N, 4+)`` boxes in the output image's pixels.
            det_labels: ``(N,)`` class of each detection (selects the mask channel).
            out_shape: ``(H, W[, C])``.
            mask_thr_binary: probability from which a pixel is in the mask.

        Returns:
            ``(N, H, W)`` bool.
        """
        if mask_probs.shape[0] and not self.class_agnostic:
            mask_probs = mask_probs[torch.arange(mask_probs.shape[0], device=mask_probs.device), det_labels.long()]
        else:
            mask_probs = mask_probs[:, 0]
        return paste_masks(mask_probs, det_bboxes[:, :4], out_shape, mask_thr_binary)
