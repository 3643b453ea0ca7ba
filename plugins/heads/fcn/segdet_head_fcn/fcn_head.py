"""FCN decode head (Long et al., "Fully Convolutional Networks for Semantic Segmentation")."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from segdet.api import BaseDecodeHead, ConvModule, LossCfg

__all__ = ["FCNHead"]

_CE: Mapping[str, Any] = {"type": "CrossEntropyLoss", "use_sigmoid": False, "loss_weight": 1.0}


class FCNHead(BaseDecodeHead):
    """``num_convs`` conv blocks, optionally concatenated with the input, then the classifier.

    Args:
        num_convs: conv blocks (default 2); 0 passes the input through (needs ``in_channels == channels``).
        kernel_size: of the conv blocks (default 3).
        concat_input: concatenate the input with the blocks' output and fuse it with ``conv_cat``
            (default True).
        dilation: of the conv blocks (default 1).
        in_channels, channels, num_classes, dropout_ratio, conv_cfg, norm_cfg, act_cfg, in_index,
        input_transform, loss_decode, ignore_index, sampler, align_corners, init_cfg: as
            :class:`~segdet.api.BaseDecodeHead`.

    Keys: ``convs.<i>.conv``/``.bn``, ``conv_cat.*``, ``conv_seg`` (MMSegmentation's).

    Shapes: selected input (N, in_channels, h, w) -> logits (N, num_classes, h, w).

    Example::

        head = FCNHead(in_channels=16, channels=8, num_classes=4, num_convs=1, concat_input=False)
    """

    def __init__(
        self,
        in_channels: int | Sequence[int],
        channels: int,
        *,
        num_classes: int,
        num_convs: int = 2,
        kernel_size: int = 3,
        concat_input: bool = True,
        dilation: int = 1,
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
        if num_convs < 0 or dilation < 1:
            raise ValueError(f"FCNHead needs num_convs >= 0 and dilation >= 1, got {num_convs}, {dilation}")
        super().__init__(
            in_channels, channels, num_classes=num_classes, dropout_ratio=dropout_ratio, conv_cfg=conv_cfg,
            norm_cfg=norm_cfg, act_cfg=act_cfg, in_index=in_index, input_transform=input_transform,
            loss_decode=loss_decode, ignore_index=ignore_index, sampler=sampler, align_corners=align_corners,
            init_cfg=init_cfg)
        assert isinstance(self.in_channels, int)
        if num_convs == 0 and self.in_channels != self.channels:
            raise ValueError(
                f"FCNHead with num_convs=0 passes its input through, so in_channels ({self.in_channels}) "
                f"must equal channels ({self.channels})"
            )
        self.num_convs = num_convs
        self.concat_input = concat_input
        self.kernel_size = kernel_size
        padding = (kernel_size // 2) * dilation
        blocks: list[nn.Module] = []
        for i in range(num_convs):
            blocks.append(ConvModule(
                self.in_channels if i == 0 else self.channels, self.channels, kernel_size, padding=padding,
                dilation=dilation, conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg))
        self.convs: nn.Module = nn.Sequential(*blocks) if blocks else nn.Identity()
        if concat_input:
            self.conv_cat = ConvModule(self.in_channels + self.channels, self.channels, kernel_size,
                                       padding=kernel_size // 2, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                                       act_cfg=act_cfg)

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        """Logits (N, num_classes, h, w) from the selected input map."""
        x = self._transform_inputs(inputs)
        feat = self.convs(x)
        if self.concat_input:
            feat = self.conv_cat(torch.cat([x, feat], dim=1))
        return self.cls_seg(feat)
