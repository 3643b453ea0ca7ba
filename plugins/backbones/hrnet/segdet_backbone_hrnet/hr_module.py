"""One high-resolution module: parallel branches, then every branch fused into every output.

Keys (MMDetection / MMSegmentation): ``branches.{b}.{k}.*`` (residual blocks),
``fuse_layers.{i}.{j}.0`` / ``.1`` (1x1 conv + norm bringing branch ``j > i`` to branch ``i``'s
width before upsampling), ``fuse_layers.{i}.{j}.{k}.0`` / ``.1`` (stride-2 3x3 conv + norm steps
bringing a finer branch ``j < i`` down to branch ``i``); ``fuse_layers.{i}.{i}`` is empty.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn

from segdet.api import build_norm_layer

from ._blocks import BlockType, conv_layer

__all__ = ["HRModule", "make_branch"]


def make_branch(block: BlockType, inplanes: int, planes: int, num_blocks: int, stride: int = 1,
                with_cp: bool = False, norm_cfg: Mapping[str, Any] = {"type": "BN"},  # noqa: B006
                conv_cfg: Mapping[str, Any] | None = None) -> nn.Sequential:
    """``num_blocks`` blocks; the first projects the shortcut (``downsample.0/1``) if shape changes."""
    out = planes * block.expansion
    downsample = None
    if stride != 1 or inplanes != out:
        downsample = nn.Sequential(conv_layer(conv_cfg, inplanes, out, 1, stride),
                                   build_norm_layer(norm_cfg, out)[1])
    layers = [block(inplanes, planes, stride, downsample, with_cp=with_cp, norm_cfg=norm_cfg, conv_cfg=conv_cfg)]
    layers += [block(out, planes, with_cp=with_cp, norm_cfg=norm_cfg, conv_cfg=conv_cfg)
               for _ in range(1, num_blocks)]
    return nn.Sequential(*layers)


class HRModule(nn.Module):
    """Branches of residual blocks, one per resolution, and the exchange between them.

    Args:
        num_branches: parallel resolutions (branch ``b`` has stride ``2**b`` w.r.t. branch 0).
        block: residual block class; num_blocks: blocks per branch.
        in_channels: input channels per branch; num_channels: block width per branch (output
            ``num_channels[b] * block.expansion``).
        multiscale_output: return every branch (True) or only the finest fused map.
        with_cp, conv_cfg, norm_cfg: for every conv and norm.
        upsample_mode: ``'nearest'`` (MMDetection) or ``'bilinear'`` (MMSegmentation, ``align_corners=False``).

    Shapes: list of ``(N, in_channels[b], H / 2**b, W / 2**b)`` -> list of
    ``(N, out_channels[b], H / 2**b, W / 2**b)``; a coarse map is resized to its target's exact size.
    """

    def __init__(self, num_branches: int, block: BlockType, num_blocks: Sequence[int], in_channels: Sequence[int],
                 num_channels: Sequence[int], multiscale_output: bool = True, with_cp: bool = False,
                 conv_cfg: Mapping[str, Any] | None = None,
                 norm_cfg: Mapping[str, Any] = {"type": "BN"},  # noqa: B006  (never mutated)
                 upsample_mode: str = "nearest") -> None:
        super().__init__()
        for name, seq in (("num_blocks", num_blocks), ("num_channels", num_channels),
                          ("in_channels", in_channels)):
            if len(seq) != num_branches:
                raise ValueError(f"HRNet module: num_branches={num_branches} but {name} has {len(seq)} "
                                 f"entries ({tuple(seq)})")
        if upsample_mode not in ("nearest", "bilinear"):
            raise ValueError(f"HRNet upsample_mode must be 'nearest' or 'bilinear', got {upsample_mode!r}")
        self.num_branches = num_branches
        self.multiscale_output = multiscale_output
        self.upsample_mode = upsample_mode
        self.branches = nn.ModuleList(
            make_branch(block, in_channels[b], num_channels[b], num_blocks[b], 1, with_cp, norm_cfg, conv_cfg)
            for b in range(num_branches))
        self.out_channels = [c * block.expansion for c in num_channels]
        self.fuse_layers = self._make_fuse_layers(conv_cfg, norm_cfg) if num_branches > 1 else None
        self.relu = nn.ReLU(inplace=False)

    def _make_fuse_layers(self, conv_cfg: Mapping[str, Any] | None, norm_cfg: Mapping[str, Any]) -> nn.ModuleList:
        ch = self.out_channels
        fuse_layers = nn.ModuleList()
        for i in range(self.num_branches if self.multiscale_output else 1):
            row = nn.ModuleList()
            for j in range(self.num_branches):
                if j > i:  # coarser: 1x1 conv to branch i's width, upsampled in forward
                    row.append(nn.Sequential(conv_layer(conv_cfg, ch[j], ch[i], 1),
                                             build_norm_layer(norm_cfg, ch[i])[1]))
                elif j == i:
                    row.append(nn.Identity())  # holds no parameters, as MMDetection's None
                else:  # finer: i - j stride-2 3x3 convs, only the last one changes width
                    steps: list[nn.Module] = []
                    for k in range(i - j):
                        last = k == i - j - 1
                        out = ch[i] if last else ch[j]
                        parts: list[nn.Module] = [conv_layer(conv_cfg, ch[j], out, 3, 2, 1),
                                                  build_norm_layer(norm_cfg, out)[1]]
                        if not last:
                            parts.append(nn.ReLU(inplace=False))
                        steps.append(nn.Sequential(*parts))
                    row.append(nn.Sequential(*steps))
            fuse_layers.append(row)
        return fuse_layers

    def forward(self, x: list[torch.Tensor]) -> list[torch.Tensor]:
        """List of one map per branch -> fused list (one map, or one per branch)."""
        x = [branch(t) for branch, t in zip(self.branches, x)]
        if self.fuse_layers is None:
            return x
        outs = []
        for i, fuse_row in enumerate(self.fuse_layers):
            row = cast(nn.ModuleList, fuse_row)
            y = x[i]
            for j in range(self.num_branches):
                if j == i:
                    continue
                z = row[j](x[j])
                if j > i:
                    kwargs: dict[str, Any] = {"align_corners": False} if self.upsample_mode == "bilinear" else {}
                    z = F.interpolate(z, size=x[i].shape[-2:], mode=self.upsample_mode, **kwargs)
                y = y + z
            outs.append(self.relu(y))
        return outs
