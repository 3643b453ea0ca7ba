"""The conv towers and the initialisation that RetinaNet-, ATSS- and FCOS-style heads share."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ..layers import ConvModule, bias_init_with_prob, normal_init
from ..weights import load_pretrained

__all__ = ["ConvTowers", "conv_tower"]


def conv_tower(in_channels: int, feat_channels: int, num_convs: int,
               conv_cfg: Mapping[str, Any] | None = None, norm_cfg: Mapping[str, Any] | None = None,
               bias: bool | str = "auto") -> nn.ModuleList:
    """``num_convs`` 3x3 ``ConvModule`` s (conv, norm, ReLU): ``in_channels`` -> ``feat_channels``.

    Shapes: ``(B, in_channels, H, W)`` -> ``(B, feat_channels, H, W)`` (identity when ``num_convs`` is 0).
    """
    return nn.ModuleList(
        ConvModule(in_channels if i == 0 else feat_channels, feat_channels, 3, padding=1, bias=bias,
                   conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        for i in range(num_convs)
    )


class ConvTowers:
    """Mixin for a dense head with a classification and a regression tower (MMDetection names
    ``cls_convs.<i>`` and ``reg_convs.<i>``, so upstream checkpoints load).

    The head calls ``_build_towers(...)`` in its constructor, ``_tower_feats(x)`` in
    ``forward_single``, and sets ``init_cfg``; ``_default_init`` and ``init_weights`` follow
    MMDetection: every conv normal (std 0.01), the classification conv's bias set for a prior
    probability of 0.01, then the ``init_cfg`` checkpoint when it is ``type='Pretrained'``.

    Example:
        >>> class MyHead(AnchorHeadBase, ConvTowers):
        ...     def __init__(self, ...):
        ...         last = self._build_towers(in_channels, feat_channels, stacked_convs, conv_cfg, norm_cfg)
        ...         self.my_cls = nn.Conv2d(last, num_anchors * num_classes, 3, padding=1)
        ...     def _cls_logits(self) -> nn.Module:
        ...         return self.my_cls
    """

    cls_convs: nn.ModuleList
    reg_convs: nn.ModuleList
    init_cfg: dict[str, Any] | None

    def _build_towers(self, in_channels: int, feat_channels: int, stacked_convs: int,
                      conv_cfg: Mapping[str, Any] | None = None, norm_cfg: Mapping[str, Any] | None = None,
                      bias: bool | str = "auto") -> int:
        """Make ``cls_convs`` and ``reg_convs``; return the channels their outputs have."""
        self.cls_convs = conv_tower(in_channels, feat_channels, stacked_convs, conv_cfg, norm_cfg, bias)
        self.reg_convs = conv_tower(in_channels, feat_channels, stacked_convs, conv_cfg, norm_cfg, bias)
        return feat_channels if stacked_convs > 0 else in_channels

    def _tower_feats(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(cls_feat, reg_feat)`` of one level ``x``."""
        cls_feat = x
        for conv in self.cls_convs:
            cls_feat = conv(cls_feat)
        reg_feat = x
        for conv in self.reg_convs:
            reg_feat = conv(reg_feat)
        return cls_feat, reg_feat

    def _cls_logits(self) -> nn.Module:
        """The conv producing the class logits (its bias starts at ``-log((1 - 0.01) / 0.01)``)."""
        raise NotImplementedError(f"{type(self).__name__} must return its classification conv from _cls_logits")

    def _default_init(self) -> None:
        """MMDetection's init: normal (std 0.01) convs, class bias for a prior probability of 0.01."""
        assert isinstance(self, nn.Module)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                normal_init(m, std=0.01)
        normal_init(self._cls_logits(), std=0.01, bias=bias_init_with_prob(0.01))

    def init_weights(self) -> None:
        """Re-initialise, then load the ``init_cfg`` checkpoint if it is ``type='Pretrained'``.

        Training calls this once before the first iteration; construction only initialises.
        """
        assert isinstance(self, nn.Module)
        self._default_init()
        cfg = getattr(self, "init_cfg", None)
        if cfg is not None and cfg.get("type") == "Pretrained":
            load_pretrained(self, str(cfg["checkpoint"]), prefix=cfg.get("prefix"))
