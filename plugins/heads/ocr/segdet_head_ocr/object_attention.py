"""The parts of the OCR block: soft class-region gathering and pixel-to-region attention."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from segdet.api import ConvModule, resize

__all__ = ["ObjectAttentionBlock", "SpatialGatherModule"]


class SpatialGatherModule(nn.Module):
    """One feature vector per class region: the features averaged with the softmax (over pixels)
    of that class's coarse logits.

    Shapes: ``feats`` (N, C, H, W), ``probs`` (N, K, H, W) -> (N, C, K, 1).
    """

    def __init__(self, scale: float = 1.0) -> None:
        super().__init__()
        self.scale = scale

    def forward(self, feats: torch.Tensor, probs: torch.Tensor) -> torch.Tensor:
        n, k = probs.shape[:2]
        weights = F.softmax(self.scale * probs.reshape(n, k, -1), dim=2)  # (N, K, HW)
        regions = torch.matmul(weights, feats.reshape(n, feats.shape[1], -1).transpose(1, 2))  # (N, K, C)
        return regions.transpose(1, 2).unsqueeze(3).contiguous()


def _project(in_channels: int, channels: int, num_convs: int, cfgs: Mapping[str, Any]) -> nn.Module:
    # one ConvModule is stored bare, several as a Sequential (MMSegmentation's key layout)
    convs = [ConvModule(in_channels if i == 0 else channels, channels, 1, **cfgs) for i in range(num_convs)]
    return convs[0] if num_convs == 1 else nn.Sequential(*convs)


class ObjectAttentionBlock(nn.Module):
    """Each pixel attends over the class-region vectors; the attended context is fused with the pixel
    features by a 1x1 conv.

    Query/key projections are two 1x1 ConvModules, value/out one each; the similarity is scaled by
    ``channels ** -0.5``. With ``scale > 1`` the queries are max-pooled by ``scale`` and the context
    is upsampled back before fusion.

    Args:
        in_channels: channels of the pixel features and of the output.
        channels: channels of the attention space.
        scale: query downsampling factor (1: none).
        conv_cfg, norm_cfg, act_cfg: of every ConvModule.

    Keys (MMSegmentation's): ``key_project.{0,1}.*``, ``query_project.{0,1}.*``, ``value_project.*``,
    ``out_project.*``, ``bottleneck.*``.

    Shapes: ``query_feats`` (N, in_channels, H, W), ``key_feats`` (N, in_channels, K, 1) ->
    (N, in_channels, H, W).
    """

    def __init__(self, in_channels: int, channels: int, scale: int = 1,
                 conv_cfg: Mapping[str, Any] | None = None, norm_cfg: Mapping[str, Any] | None = None,
                 act_cfg: Mapping[str, Any] | None = {"type": "ReLU"},  # noqa: B006  (never mutated)
                 ) -> None:
        super().__init__()
        cfgs: dict[str, Any] = {"conv_cfg": conv_cfg, "norm_cfg": norm_cfg, "act_cfg": act_cfg}
        self.channels = channels
        self.key_project = _project(in_channels, channels, 2, cfgs)
        self.query_project = _project(in_channels, channels, 2, cfgs)
        self.value_project = _project(in_channels, channels, 1, cfgs)
        self.out_project = _project(channels, in_channels, 1, cfgs)
        self.query_downsample: nn.Module | None = nn.MaxPool2d(kernel_size=scale) if scale > 1 else None
        self.bottleneck = ConvModule(in_channels * 2, in_channels, 1, **cfgs)

    def forward(self, query_feats: torch.Tensor, key_feats: torch.Tensor) -> torch.Tensor:
        query = self.query_project(query_feats)
        if self.query_downsample is not None:
            query = self.query_downsample(query)
        n, _, h, w = query.shape
        query = query.reshape(n, self.channels, -1).transpose(1, 2)  # (N, HW, ch)
        key = self.key_project(key_feats).reshape(n, self.channels, -1)  # (N, ch, K)
        value = self.value_project(key_feats).reshape(n, self.channels, -1).transpose(1, 2)  # (N, K, ch)
        attn = F.softmax(torch.matmul(query, key) * self.channels ** -0.5, dim=-1)
        context = torch.matmul(attn, value).transpose(1, 2).reshape(n, self.channels, h, w)
        context = self.out_project(context)
        context = resize(context, query_feats.shape[2:], "bilinear", False)
        return self.bottleneck(torch.cat([context, query_feats], dim=1))
