"""Strides flow from backbone to neck to the head's prior generator, and cannot disagree."""
from __future__ import annotations

from pathlib import Path

import pytest

from segdet import Config, build_model
from segdet.errors import ShapeMismatchError

CFG = str(Path(__file__).resolve().parents[2] / "configs/retinanet/retinanet_r18_fpn_shapes.py")


def test_neck_gets_backbone_strides_and_head_agrees():
    model = build_model(Config.fromfile(CFG).model)
    assert model.backbone.strides == [8, 16, 32]
    assert model.neck.strides == [8, 16, 32]
    assert [s[0] for s in model.bbox_head.prior_generator.strides] == model.neck.strides


def test_more_neck_levels_than_anchor_strides_is_an_error_naming_the_key():
    cfg = Config.fromfile(CFG, cfg_options={"model.neck.num_outs": 4})
    with pytest.raises(ShapeMismatchError) as exc:
        build_model(cfg.model)
    msg = str(exc.value)
    assert "model.bbox_head.anchor_generator.strides" in msg and "retinanet_r18_fpn_shapes.py" in msg
    assert "[8, 16, 32, 64]" in msg


def test_backbone_levels_shift_the_neck_strides():
    # out_indices (2, 3): the backbone returns strides 16 and 32, so FPN's three outputs are 16/32/64
    cfg = Config.fromfile(CFG, cfg_options={"model.backbone.out_indices": (2, 3),
                                            "model.neck.in_channels": [64, 128],
                                            "model.bbox_head.anchor_generator.strides": [16, 32, 64]})
    model = build_model(cfg.model)
    assert model.neck.strides == [16, 32, 64]
