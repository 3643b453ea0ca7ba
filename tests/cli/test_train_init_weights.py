"""`segdet train` loads pretrained parts named by init_cfg (MMCV's init_weights step)."""
from __future__ import annotations

import torch

from segdet.config import Config
from segdet.registry import build
from segdet_cli.commands.train import _build_model


def test_train_model_build_loads_backbone_init_cfg(tmp_path):
    backbone = build(dict(type="ResNet", depth=18, base_channels=8, out_indices=(1, 2, 3)), "backbones")
    with torch.no_grad():
        backbone.conv1.weight.fill_(0.125)
    ckpt = tmp_path / "r18_tiny.pth"
    torch.save({"state_dict": backbone.state_dict()}, ckpt)
    cfg = Config(dict(model=dict(
        type="RetinaNet",
        backbone=dict(type="ResNet", depth=18, base_channels=8, out_indices=(1, 2, 3),
                      init_cfg=dict(type="Pretrained", checkpoint=str(ckpt))),
        neck=dict(type="FPN", out_channels=8, num_outs=3),
        bbox_head=dict(type="RetinaHead", num_classes=2, stacked_convs=1, feat_channels=8,
                       anchor_generator=dict(type="AnchorGenerator", octave_base_scale=4, scales_per_octave=1,
                                             ratios=[1.0], strides=[8, 16, 32])),
    )))
    model = _build_model(cfg)
    assert torch.all(model.backbone.conv1.weight == 0.125)
