"""``segdet new-plugin neck NAME``: a neck with one lateral and one output conv per level."""
from __future__ import annotations

GROUP = "necks"
DEPENDENCIES = ("torch>=2.3",)
SUMMARY = "a segdet neck: a 1x1 lateral and a 3x3 output conv per feature level"

USAGE = '''\
In a detector config, in place of FPN (its `in_channels` come from the backbone):

```python
model = dict(
    neck=dict(_delete_=True, type='${cls}', out_channels=64),
    bbox_head=dict(in_channels=64),    # or leave it out: filled from the neck
)
```
'''

COMPONENT = '''\
"""${cls}: a 1x1 lateral conv and a 3x3 output conv on every input level."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from segdet.api import ConvModule
from torch import nn

__all__ = ["${cls}"]


class ${cls}(nn.Module):
    """Per level: a 1x1 lateral conv to ``out_channels``, then a 3x3 conv (no top-down path).

    Args:
        in_channels: channels of each input level, e.g. ``[128, 256, 512]``. A detector fills
            it from its backbone's ``out_channels`` when the config leaves it out.
        out_channels: channels of every output level. Default 64.
        in_strides: stride of each input level. ``None`` (default) assumes ResNet's: the last
            level has stride 32 and each earlier one half the next (``[8, 16, 32]`` for 3).
        norm_cfg: norm layer of the convs, e.g. ``dict(type='BN')``. Default ``None`` (none).
        act_cfg: activation after each conv. Default ``None`` (linear, like FPN).

    Attributes:
        out_channels: ``[out_channels] * len(in_channels)``, read by the head.
        strides: stride of each output level (those of the inputs).

    Shapes:
        ``forward(feats)``: ``feats[i]`` is ``(N, in_channels[i], H_i, W_i)``; returns a tuple
        of ``len(in_channels)`` maps ``(N, out_channels, H_i, W_i)``.

    Example:
        >>> neck = ${cls}(in_channels=[8, 16], out_channels=4)
        >>> [tuple(o.shape) for o in neck([torch.rand(2, 8, 8, 8), torch.rand(2, 16, 4, 4)])]
        [(2, 4, 8, 8), (2, 4, 4, 4)]
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        out_channels: int = 64,
        in_strides: Sequence[int] | None = None,
        norm_cfg: Mapping[str, Any] | None = None,
        act_cfg: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if isinstance(in_channels, int) or not in_channels:
            raise ValueError(f"${cls}: in_channels must be a non-empty list of ints, got {in_channels!r}")
        count = len(in_channels)
        strides = list(in_strides) if in_strides is not None else [32 // 2 ** (count - 1 - i) for i in range(count)]
        if len(strides) != count:
            raise ValueError(f"${cls}: in_strides {strides} needs one entry per in_channels ({count})")
        self.in_channels = [int(c) for c in in_channels]
        self.lateral_convs = nn.ModuleList(
            ConvModule(c, out_channels, 1, norm_cfg=norm_cfg, act_cfg=act_cfg) for c in self.in_channels)
        self.out_convs = nn.ModuleList(
            ConvModule(out_channels, out_channels, 3, padding=1, norm_cfg=norm_cfg, act_cfg=act_cfg)
            for _ in self.in_channels)
        self.out_channels: list[int] = [int(out_channels)] * count
        self.strides: list[int] = [int(s) for s in strides]

    def forward(self, feats: Sequence[torch.Tensor]) -> tuple[torch.Tensor, ...]:
        """One output map per input map; see the class docstring for shapes."""
        if len(feats) != len(self.lateral_convs):
            raise ValueError(f"${cls} was built for {len(self.lateral_convs)} levels, got {len(feats)} maps")
        return tuple(out(lateral(x)) for x, lateral, out in zip(feats, self.lateral_convs, self.out_convs))
'''

TEST = '''\
"""${cls} keeps the neck contract of segdet.testing and does what its docstring says."""
from __future__ import annotations

import pytest
import torch
from segdet import Config, build_model, list_components
from segdet.testing import check_component


def _installed(name, group):
    return any(info.name == name for info in list_components(group))


@pytest.mark.segdet_component("${cls}", "necks", in_channels=[8, 16, 16], out_channels=8)
@pytest.mark.segdet_component("${cls}", "necks", in_channels=[4, 8], out_channels=4, in_strides=[16, 32],
                              norm_cfg=dict(type="BN"))
def test_neck_contract(segdet_component):
    """Built from tiny kwargs and checked: outputs match out_channels and strides, gradients flow."""
    assert len(segdet_component.out_channels) == len(segdet_component.strides)


def test_output_shapes_and_strides():
    neck = check_component("${cls}", "necks", in_channels=[8, 16, 32], out_channels=4)
    assert neck.strides == [8, 16, 32] and neck.out_channels == [4, 4, 4]
    feats = [torch.rand(2, c, 64 // s, 64 // s) for c, s in zip([8, 16, 32], neck.strides)]
    outs = neck(feats)
    assert [tuple(o.shape) for o in outs] == [(2, 4, 8, 8), (2, 4, 4, 4), (2, 4, 2, 2)]


def test_wrong_number_of_levels_is_an_error():
    neck = check_component("${cls}", "necks", in_channels=[8, 16], out_channels=4)
    with pytest.raises(ValueError, match="built for 2 levels, got 1"):
        neck([torch.rand(1, 8, 4, 4)])


@pytest.mark.skipif(not (_installed("ResNet", "backbones") and _installed("RetinaHead", "heads")),
                    reason="needs segdet-backbone-resnet and segdet-head-retina")
def test_in_channels_filled_from_the_backbone_inside_a_detector(tmp_path):
    """A RetinaNet built from a config naming the neck by its registered name."""
    cfg_file = tmp_path / "tiny_retinanet.py"
    cfg_file.write_text(
        "model = dict(type='RetinaNet',\\n"
        "    backbone=dict(type='ResNet', depth=18, base_channels=4, out_indices=(1, 2, 3), init_cfg=None),\\n"
        "    neck=dict(type='${cls}', out_channels=8),\\n"
        "    bbox_head=dict(type='RetinaHead', num_classes=2, feat_channels=8, stacked_convs=1,\\n"
        "        anchor_generator=dict(type='AnchorGenerator', octave_base_scale=4, scales_per_octave=1,\\n"
        "                              ratios=[1.0], strides=[8, 16, 32])),\\n"
        "    train_cfg=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.4)),\\n"
        "    test_cfg=dict(nms_pre=100, score_thr=0.05, nms=dict(type='nms', iou_threshold=0.5),\\n"
        "                  max_per_img=10))\\n")
    model = build_model(Config.fromfile(str(cfg_file)).model)
    assert model.neck.in_channels == [8, 16, 32]
    feats = model.extract_feat(torch.rand(2, 3, 64, 64))
    assert [tuple(f.shape) for f in feats] == [(2, 8, 8, 8), (2, 8, 4, 4), (2, 8, 2, 2)]
'''
