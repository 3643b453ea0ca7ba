"""The Swin configs shipped in configs/: they load, build, and match MMDetection's keys."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from segdet import Config, build_model
from segdet.api import UnknownComponentError, build, build_downstream, components
from segdet.testing.shared import reference_keys

ROOT = Path(__file__).resolve().parents[4]


def test_retinanet_swin_config_builds_and_runs() -> None:
    cfg = Config.fromfile(str(ROOT / "configs/retinanet/retinanet_swin-t-p4-w7_fpn_1x_coco.py"))
    assert cfg.optimizer.type == "AdamW" and "momentum" not in cfg.optimizer
    assert cfg.model.backbone.convert_weights and "depth" not in cfg.model.backbone
    model = build_model(cfg.model).eval()  # reads no checkpoint: init_weights() would
    assert model.backbone.out_channels == [192, 384, 768]
    assert model.neck.strides == list(cfg.model.bbox_head.anchor_generator.strides)
    with torch.no_grad():
        feats = model.neck(model.backbone(torch.rand(1, 3, 64, 96)))
    assert [tuple(f.shape[-2:]) for f in feats] == [(8, 12), (4, 6), (2, 3), (1, 2), (1, 1)]


def test_mask_rcnn_swin_config_backbone_and_neck_keys_match_mmdetection() -> None:
    cfg = Config.fromfile(str(ROOT / "configs/swin/mask_rcnn_swin-t-p4-w7_fpn_1x_coco.py"))
    assert cfg.data.train.pipeline[1].with_mask and cfg.evaluation.metric == ["bbox", "segm"]
    ref = reference_keys()["swin/mask_rcnn_swin-t-p4-w7_fpn_1x_coco.py"]
    if any(i.name == "MaskRCNN" for i in components("detectors")):
        model = build_model(cfg.model)
        assert {k: list(v.shape) for k, v in model.state_dict().items()} == ref
        return
    backbone = build(cfg.model.backbone, "backbones")
    neck = build_downstream(cfg.model.neck, "necks", backbone)
    own = {f"{part}.{k}": list(v.shape) for part, m in (("backbone", backbone), ("neck", neck))
           for k, v in m.state_dict().items()}
    assert own == {k: v for k, v in ref.items() if k.startswith(("backbone.", "neck."))}
    with pytest.raises(UnknownComponentError, match="MaskRCNN"):
        build_model(cfg.model)
