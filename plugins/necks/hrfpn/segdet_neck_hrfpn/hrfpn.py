"""HRFPN (Wang et al. 2019, HRNetV2p): concatenate all HRNet branches, reduce, pool into a pyramid."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
import torch.utils.checkpoint as cp
from torch import nn

from segdet.api import ConvModule, load_pretrained

__all__ = ["HRFPN"]


class HRFPN(nn.Module):
    """High-resolution feature pyramid with MMDetection's keys.

    Every input is bilinearly upsampled to the first (finest) input's size and concatenated; a 1x1
    conv (``reduction_conv``) reduces the result to ``out_channels``; output level ``i`` is that map
    average- (or max-) pooled by ``2**i`` and passed through its own 3x3 conv (``fpn_convs.{i}``).
    As in MMDetection, ``norm_cfg`` is accepted but no conv has a norm layer (their biases are on).

    Args:
        in_channels: channels of each input branch, e.g. ``[32, 64, 128, 256]`` (HRNetV2-W32).
        out_channels: channels of every output level.
        num_outs: output levels (5).
        pooling_type: ``'AVG'`` or ``'MAX'``.
        conv_cfg: ``None`` or ``dict(type='Conv2d')``; norm_cfg: accepted and unused, as in MMDetection.
        with_cp: gradient checkpointing of the convs (False).
        stride: stride of the 3x3 output convs (1).
        init_cfg: ``None`` (Caffe2-Xavier convs, zero biases, as MMDetection's default) or
            ``dict(type='Pretrained', checkpoint=..., prefix=None)`` read by :meth:`init_weights`.
        in_strides: stride of each input (filled by the detector from the backbone); only used for
            :attr:`strides`. ``None`` assumes ``4, 8, 16, ...``. Not an MMDetection argument.

    Attributes:
        out_channels: ``[out_channels] * num_outs``; strides: ``in_strides[0] * stride * 2**i``.

    Shapes: ``inputs[i]``: ``(N, in_channels[i], H / 2**i, W / 2**i)`` -> ``num_outs`` maps
    ``(N, out_channels, H_i, W_i)`` with ``H_0 = H`` and ``H_i = floor(H / 2**i)`` (then ``/ stride``).
    """

    def __init__(self, in_channels: Sequence[int], out_channels: int, num_outs: int = 5,
                 pooling_type: str = "AVG", conv_cfg: Mapping[str, Any] | None = None,
                 norm_cfg: Mapping[str, Any] | None = None, with_cp: bool = False, stride: int = 1,
                 init_cfg: Mapping[str, Any] | None = None, in_strides: Sequence[int] | None = None) -> None:
        super().__init__()
        if isinstance(in_channels, int) or not in_channels:
            raise ValueError(f"HRFPN in_channels must be a non-empty list of ints, got {in_channels!r}")
        if pooling_type not in ("AVG", "MAX"):
            raise ValueError(f"HRFPN pooling_type must be 'AVG' or 'MAX', got {pooling_type!r}")
        if num_outs < 1:
            raise ValueError(f"HRFPN num_outs must be at least 1, got {num_outs}")
        if in_strides is not None and len(in_strides) != len(in_channels):
            raise ValueError(f"HRFPN in_strides {list(in_strides)} needs one stride per input "
                             f"(in_channels={list(in_channels)})")
        if init_cfg is not None and (init_cfg.get("type") != "Pretrained" or "checkpoint" not in init_cfg):
            raise ValueError(f"HRFPN init_cfg must be None or dict(type='Pretrained', checkpoint=...), "
                             f"got {dict(init_cfg)!r}")
        self.in_channels = [int(c) for c in in_channels]
        self.num_ins = len(self.in_channels)
        self.num_outs = num_outs
        self.with_cp = with_cp
        self.pooling_type = pooling_type
        self.norm_cfg = None if norm_cfg is None else dict(norm_cfg)
        self.init_cfg = None if init_cfg is None else dict(init_cfg)
        self.reduction_conv = ConvModule(sum(self.in_channels), out_channels, 1, conv_cfg=conv_cfg, act_cfg=None)
        self.fpn_convs = nn.ModuleList(
            ConvModule(out_channels, out_channels, 3, stride=stride, padding=1, conv_cfg=conv_cfg, act_cfg=None)
            for _ in range(num_outs))
        first = 4 if in_strides is None else int(in_strides[0])
        self.out_channels: list[int] = [out_channels] * num_outs
        self.strides: list[int] = [first * stride * 2**i for i in range(num_outs)]
        self._default_init()

    def _default_init(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                # Caffe2's Xavier: uniform with fan_in scaling (kaiming_uniform, a=1).
                nn.init.kaiming_uniform_(m.weight, a=1)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def init_weights(self) -> None:
        """Re-initialise; then load ``init_cfg``'s checkpoint if given."""
        self._default_init()
        if self.init_cfg is not None:
            load_pretrained(self, str(self.init_cfg["checkpoint"]), prefix=self.init_cfg.get("prefix"))

    def _run(self, module: nn.Module, x: torch.Tensor) -> torch.Tensor:
        if self.with_cp and x.requires_grad and torch.is_grad_enabled():
            return cp.checkpoint(module, x, use_reentrant=False)
        return module(x)

    def forward(self, inputs: Sequence[torch.Tensor]) -> tuple[torch.Tensor, ...]:
        """Branch maps (finest first) -> tuple of ``num_outs`` pyramid levels."""
        if len(inputs) != self.num_ins:
            raise ValueError(f"HRFPN got {len(inputs)} inputs, configured for {self.num_ins} (in_channels)")
        size = inputs[0].shape[-2:]
        # Resized to the finest map's exact size: for sizes divisible by 2**i this is MMDetection's
        # scale_factor=2**i bilinear upsampling, and odd sizes still line up.
        ups = [inputs[0]] + [F.interpolate(x, size=size, mode="bilinear", align_corners=False) for x in inputs[1:]]
        out = self._run(self.reduction_conv, torch.cat(ups, dim=1))
        pool = F.avg_pool2d if self.pooling_type == "AVG" else F.max_pool2d
        levels = [out] + [pool(out, kernel_size=2**i, stride=2**i) for i in range(1, self.num_outs)]
        return tuple(self._run(conv, level) for conv, level in zip(self.fpn_convs, levels))
