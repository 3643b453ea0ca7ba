"""PSPNet decode head (Zhao et al., "Pyramid Scene Parsing Network")."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import torch

from segdet.api import PPM, BaseDecodeHead, ConvModule, LossCfg

__all__ = ["PSPHead"]

_CE: Mapping[str, Any] = {"type": "CrossEntropyLoss", "use_sigmoid": False, "loss_weight": 1.0}


class PSPHead(BaseDecodeHead):
    """Pyramid pooling of the input at ``pool_scales``, concatenated with it, fused by a 3x3 conv.

    Args:
        pool_scales: output sizes of the adaptive average pools (default (1, 2, 3, 6)).
        in_channels, channels, num_classes, dropout_ratio, conv_cfg, norm_cfg, act_cfg, in_index,
        input_transform, loss_decode, ignore_index, sampler, align_corners, init_cfg: as
            :class:`~segdet.api.BaseDecodeHead`.

    Keys: ``psp_modules.<i>.1.conv``/``.bn``, ``bottleneck.*``, ``conv_seg`` (MMSegmentation's).

    Shapes: selected input (N, in_channels, h, w) -> logits (N, num_classes, h, w).
    """

    single_map: ClassVar[bool] = True

    def __init__(
        self,
        in_channels: int | Sequence[int],
        channels: int,
        *,
        num_classes: int,
        pool_scales: Sequence[int] = (1, 2, 3, 6),
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
        assert isinstance(self.in_channels, int)
        self.pool_scales = tuple(pool_scales)
        self.psp_modules = PPM(self.pool_scales, self.in_channels, self.channels, conv_cfg=conv_cfg,
                               norm_cfg=norm_cfg, act_cfg=act_cfg, align_corners=align_corners)
        self.bottleneck = ConvModule(self.in_channels + len(self.pool_scales) * self.channels, self.channels, 3,
                                     padding=1, conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        """Logits (N, num_classes, h, w) from the selected input map."""
        x = self._transform_inputs(inputs)
        feat = self.bottleneck(torch.cat([x, *self.psp_modules(x)], dim=1))
        return self.cls_seg(feat)
