"""``segdet new-plugin backbone NAME``: a plain strided conv backbone."""
from __future__ import annotations

GROUP = "backbones"
DEPENDENCIES = ("torch>=2.3",)
SUMMARY = "a segdet backbone: a stem and stride-2 conv stages, one feature map per selected stage"

USAGE = '''\
In a detector config (the neck's `in_channels` are filled from `out_channels`):

```python
model = dict(
    backbone=dict(_delete_=True, type='${cls}', base_channels=16, out_indices=(1, 2, 3)),
    neck=dict(in_channels=None),
)
```
'''

COMPONENT = '''\
"""${cls}: a stem and stride-2 conv stages."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from segdet.api import ConvModule
from torch import nn

__all__ = ["${cls}"]


class ${cls}(nn.Module):
    """A stride-2 3x3 stem, then ``num_stages`` stages of a stride-2 and a stride-1 3x3 conv.

    Stage ``i`` has ``base_channels * 2**i`` channels and stride ``4 * 2**i``.

    Args:
        in_channels: image channels. Default 3.
        base_channels: channels of the stem and the first stage. Default 16.
        num_stages: number of stages, 1..5. Default 4.
        out_indices: stages whose outputs are returned, in increasing order. Default ``(1, 2, 3)``.
        norm_cfg: norm layer after each conv. Default ``dict(type='BN')``.
        act_cfg: activation after each conv. Default ``dict(type='ReLU')``.

    Attributes:
        out_channels: channels of each returned map, e.g. ``[32, 64, 128]``.
        strides: stride of each returned map, e.g. ``[8, 16, 32]``.

    Shapes:
        ``forward(x)``: ``x`` is ``(N, in_channels, H, W)``; returns a tuple of
        ``(N, out_channels[j], ceil(H / strides[j]), ceil(W / strides[j]))``.
    """

    def __init__(
        self,
        in_channels: int = 3,
        base_channels: int = 16,
        num_stages: int = 4,
        out_indices: Sequence[int] = (1, 2, 3),
        norm_cfg: Mapping[str, Any] | None = {"type": "BN"},  # noqa: B006  (never mutated)
        act_cfg: Mapping[str, Any] | None = {"type": "ReLU"},  # noqa: B006
    ) -> None:
        super().__init__()
        if not 1 <= num_stages <= 5:
            raise ValueError(f"${cls}: num_stages must be in 1..5, got {num_stages}")
        indices = [int(i) for i in out_indices]
        if not indices or sorted(set(indices)) != indices or not all(0 <= i < num_stages for i in indices):
            raise ValueError(f"${cls}: out_indices must increase within 0..{num_stages - 1}, got {out_indices!r}")
        self.out_indices = tuple(indices)
        self.stem = ConvModule(in_channels, base_channels, 3, stride=2, padding=1, norm_cfg=norm_cfg,
                               act_cfg=act_cfg)
        widths = [base_channels * 2 ** i for i in range(num_stages)]
        self.stages = nn.ModuleList()
        previous = base_channels
        for width in widths:
            self.stages.append(nn.Sequential(
                ConvModule(previous, width, 3, stride=2, padding=1, norm_cfg=norm_cfg, act_cfg=act_cfg),
                ConvModule(width, width, 3, padding=1, norm_cfg=norm_cfg, act_cfg=act_cfg)))
            previous = width
        self.out_channels: list[int] = [widths[i] for i in self.out_indices]
        self.strides: list[int] = [4 * 2 ** i for i in self.out_indices]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Feature maps of the stages in ``out_indices``; see the class docstring for shapes."""
        x = self.stem(x)
        outs = []
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
'''

TEST = '''\
"""${cls} keeps the backbone contract of segdet.testing and does what its docstring says."""
from __future__ import annotations

import pytest
import torch
from segdet.testing import check_component


@pytest.mark.segdet_component("${cls}", "backbones", base_channels=4)
@pytest.mark.segdet_component("${cls}", "backbones", base_channels=4, num_stages=2, out_indices=(0, 1),
                              norm_cfg=None)
def test_backbone_contract(segdet_component):
    """Built from tiny kwargs and checked: outputs match out_channels and strides, gradients flow."""
    assert len(segdet_component.out_channels) == len(segdet_component.out_indices)


def test_channels_strides_and_odd_sizes():
    net = check_component("${cls}", "backbones", base_channels=4)
    assert net.out_channels == [8, 16, 32] and net.strides == [8, 16, 32]
    outs = net(torch.rand(2, 3, 61, 37))
    assert [tuple(o.shape) for o in outs] == [(2, 8, 8, 5), (2, 16, 4, 3), (2, 32, 2, 2)]


def test_bad_out_indices_are_refused():
    with pytest.raises(Exception, match="out_indices"):
        check_component("${cls}", "backbones", num_stages=2, out_indices=(1, 2))
'''
