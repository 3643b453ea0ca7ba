"""OCRNet decode head (Yuan et al., "Object-Contextual Representations for Semantic Segmentation")."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import torch

from segdet.api import BaseDecodeHead, ConvModule, LossCfg, resize

from .object_attention import ObjectAttentionBlock, SpatialGatherModule

__all__ = ["OCRHead"]

_CE: Mapping[str, Any] = {"type": "CrossEntropyLoss", "use_sigmoid": False, "loss_weight": 1.0}


class OCRHead(BaseDecodeHead):
    """A cascade head: refines the previous head's logits with object-contextual representations.

    The selected map is reduced by a 3x3 conv (``bottleneck``) to ``channels``; the previous stage's
    logits softly gather one feature vector per class (``spatial_gather_module``); every pixel attends
    over those vectors (``object_context_block``) and the result is classified. It runs inside
    ``CascadeEncoderDecoder``, which hands it ``prev_output``.

    Args:
        ocr_channels: channels of the attention space (256 in OCRNet).
        scale: softmax temperature of the gathering and query downsampling of the attention (default 1).
        in_channels, channels, num_classes, dropout_ratio, conv_cfg, norm_cfg, act_cfg, in_index,
        input_transform, loss_decode, ignore_index, sampler, align_corners, init_cfg: as
            :class:`segdet.api.BaseDecodeHead`.

    Keys (MMSegmentation's): ``bottleneck.*``, ``object_context_block.{key,query,value,out}_project.*``,
    ``object_context_block.bottleneck.*``, ``conv_seg``.

    Shapes: ``forward(inputs, prev_output)``: selected map (N, in_channels, h, w) and ``prev_output``
    (N, num_classes, h', w') (resized to h, w when different) -> logits (N, num_classes, h, w).
    """

    single_map: ClassVar[bool] = True

    def __init__(
        self,
        in_channels: int | Sequence[int],
        channels: int,
        *,
        num_classes: int,
        ocr_channels: int,
        scale: int = 1,
        dropout_ratio: float = 0.1,
        conv_cfg: Mapping[str, Any] | None = None,
        norm_cfg: Mapping[str, Any] | None = None,
        act_cfg: Mapping[str, Any] | None = {"type": "ReLU"},  # noqa: B006  (never mutated)
        in_index: int | Sequence[int] = -1,
        input_transform: str | None = None,
        loss_decode: LossCfg = _CE,
        ignore_index: int = 255,
        sampler: Mapping[str, Any] | None = None,
        align_corners: bool = False,
        init_cfg: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        super().__init__(
            in_channels, channels, num_classes=num_classes, dropout_ratio=dropout_ratio, conv_cfg=conv_cfg,
            norm_cfg=norm_cfg, act_cfg=act_cfg, in_index=in_index, input_transform=input_transform,
            loss_decode=loss_decode, ignore_index=ignore_index, sampler=sampler, align_corners=align_corners,
            init_cfg=init_cfg)
        if ocr_channels < 1 or scale < 1:
            raise ValueError(f"OCRHead needs ocr_channels >= 1 and scale >= 1, got {ocr_channels}, {scale}")
        assert isinstance(self.in_channels, int)
        self.ocr_channels = ocr_channels
        self.scale = scale
        cfgs: dict[str, Any] = {"conv_cfg": conv_cfg, "norm_cfg": norm_cfg, "act_cfg": act_cfg}
        self.object_context_block = ObjectAttentionBlock(self.channels, ocr_channels, scale, **cfgs)
        self.spatial_gather_module = SpatialGatherModule(scale)
        self.bottleneck = ConvModule(self.in_channels, self.channels, 3, padding=1, **cfgs)

    def forward(self, inputs: Sequence[torch.Tensor],  # type: ignore[override]
                prev_output: torch.Tensor) -> torch.Tensor:
        """Logits (N, num_classes, h, w) from the selected map and the previous stage's logits."""
        feats = self.bottleneck(self._transform_inputs(inputs))
        prev_output = resize(prev_output, feats.shape[2:], "bilinear", self.align_corners)
        regions = self.spatial_gather_module(feats, prev_output)
        return self.cls_seg(self.object_context_block(feats, regions))

    def forward_train(self, inputs: Sequence[torch.Tensor], prev_output: torch.Tensor,  # type: ignore[override]
                      img_metas: Sequence[Mapping[str, Any]], gt_semantic_seg: torch.Tensor,
                      train_cfg: Mapping[str, Any] | None = None) -> dict[str, torch.Tensor]:
        """Losses of the refined logits; ``gt_semantic_seg`` is (N, 1, H, W) long."""
        return self.losses(self(inputs, prev_output), gt_semantic_seg)

    def forward_test(self, inputs: Sequence[torch.Tensor], prev_output: torch.Tensor,  # type: ignore[override]
                     img_metas: Sequence[Mapping[str, Any]],
                     test_cfg: Mapping[str, Any] | None = None) -> torch.Tensor:
        """Refined logits (N, num_classes, h, w)."""
        return self(inputs, prev_output)
