"""``segdet new-plugin head NAME``: a semantic-segmentation decode head."""
from __future__ import annotations

GROUP = "heads"
DEPENDENCIES = ("torch>=2.3",)
SUMMARY = "a segdet decode head: convs on one feature map, then the per-pixel classifier"

USAGE = '''\
In a segmentor config (`BaseDecodeHead` brings `in_index`, `loss_decode`, `ignore_index`, ...;
the default loss is `CrossEntropyLoss` of segdet-losses):

```python
model = dict(
    decode_head=dict(_delete_=True, type='${cls}', in_channels=512, in_index=3, channels=128,
                     num_convs=2, num_classes=19),
)
```
'''

COMPONENT = '''\
"""${cls}: ``num_convs`` 3x3 convs on one feature map, then the per-pixel classifier."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from segdet.api import BaseDecodeHead, ConvModule
from torch import nn

__all__ = ["${cls}"]

_CE = {"type": "CrossEntropyLoss", "use_sigmoid": False, "loss_weight": 1.0}


class ${cls}(BaseDecodeHead):
    """A decode head: ``num_convs`` 3x3 ConvModules on the selected map, dropout, 1x1 classifier.

    Args:
        in_channels: channels of the selected input map.
        channels: channels of the convs (and the classifier's input).
        num_classes: classes predicted per pixel.
        num_convs: number of 3x3 convs, at least 1. Default 2.
        in_index: which backbone/neck map to take. Default -1 (the last).
        dropout_ratio: ``Dropout2d`` before the classifier. Default 0.1.
        norm_cfg: norm layer of the convs, e.g. ``dict(type='BN')``. Default ``None``.
        loss_decode: loss config (group ``losses``). Default ``CrossEntropyLoss``.
        ignore_index: label of pixels without a class. Default 255.
        align_corners: of the bilinear resizes. Default False.

    Shapes:
        ``forward(inputs)``: a tuple of maps; ``inputs[in_index]`` is ``(N, in_channels, h, w)``;
        returns logits ``(N, num_classes, h, w)``.
    """

    def __init__(
        self,
        in_channels: int,
        channels: int,
        num_classes: int,
        num_convs: int = 2,
        in_index: int = -1,
        dropout_ratio: float = 0.1,
        norm_cfg: Mapping[str, Any] | None = None,
        loss_decode: Mapping[str, Any] = _CE,
        ignore_index: int = 255,
        align_corners: bool = False,
    ) -> None:
        super().__init__(in_channels, channels, num_classes=num_classes, in_index=in_index,
                         dropout_ratio=dropout_ratio, norm_cfg=norm_cfg, loss_decode=loss_decode,
                         ignore_index=ignore_index, align_corners=align_corners)
        if num_convs < 1:
            raise ValueError(f"${cls}: num_convs must be at least 1, got {num_convs}")
        self.convs = nn.Sequential(*(
            ConvModule(in_channels if i == 0 else channels, channels, 3, padding=1, norm_cfg=norm_cfg)
            for i in range(num_convs)))

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        """Per-pixel class logits of the selected map."""
        x = self.convs(self._transform_inputs(inputs))
        if self.dropout is not None:
            x = self.dropout(x)
        return self.conv_seg(x)
'''

TEST = '''\
"""${cls} keeps the head contract of segdet.testing and does what its docstring says."""
from __future__ import annotations

import pytest
import torch
from segdet.testing import check_component


@pytest.mark.segdet_component("${cls}", "heads", in_channels=8, channels=8, num_classes=3)
@pytest.mark.segdet_component("${cls}", "heads", in_channels=4, channels=8, num_classes=2, num_convs=1,
                              in_index=0, norm_cfg=dict(type="BN"))
def test_head_contract(segdet_component):
    """Built from tiny kwargs and checked: (N, num_classes, h, w) logits, gradients flow."""
    assert segdet_component.conv_seg.out_channels == segdet_component.num_classes


def test_logits_take_the_selected_map():
    head = check_component("${cls}", "heads", in_channels=8, channels=4, num_classes=3, in_index=1)
    out = head((torch.rand(2, 16, 16, 16), torch.rand(2, 8, 8, 8)))
    assert out.shape == (2, 3, 8, 8)


def test_num_convs_must_be_positive():
    with pytest.raises(Exception, match="num_convs"):
        check_component("${cls}", "heads", in_channels=8, channels=4, num_classes=3, num_convs=0)
'''
