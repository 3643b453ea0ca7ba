"""Top-level train_cfg / test_cfg / pretrained (older MMDetection layout) move into model, with a line."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from segdet.config import Config
from segdet.config.legacy import upgrade_legacy_keys
from segdet.errors import ConfigError

SEGDET = str(Path(sys.executable).with_name("segdet"))
REPO = Path(__file__).resolve().parents[2]

LEGACY = """
_base_ = '{base}'
model = dict(train_cfg=None, test_cfg=None)
train_cfg = dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.4, min_pos_iou=0{extra}),
                 allowed_border=-1, pos_weight=-1, debug=False)
test_cfg = dict(nms_pre=77, min_bbox_size=0, score_thr=0.05, nms=dict(type='nms', iou_threshold=0.5),
                max_per_img=100)
"""


def _write(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "legacy.py"
    path.write_text(LEGACY.format(base=REPO / "configs/retinanet/retinanet_r18_fpn_shapes.py", extra=extra))
    return path


def test_keys_move_into_model_keeping_their_origin(tmp_path):
    cfg = Config.fromfile(str(_write(tmp_path)))
    with pytest.warns(DeprecationWarning, match="top-level train_cfg"):
        messages = upgrade_legacy_keys(cfg, source="legacy.py")
    assert len(messages) == 2
    assert "train_cfg" not in cfg and "test_cfg" not in cfg
    assert cfg.model.test_cfg.nms_pre == 77
    assert cfg.model.train_cfg.assigner.type == "MaxIoUAssigner"
    assert "legacy.py:4" in cfg.model.origin_of("train_cfg")


def test_both_places_is_an_error(tmp_path):
    path = tmp_path / "both.py"
    path.write_text("model = dict(type='RetinaNet', test_cfg=dict(nms_pre=1))\ntest_cfg = dict(nms_pre=2)\n")
    with pytest.raises(ConfigError, match="both at the top level"):
        upgrade_legacy_keys(Config.fromfile(str(path)))


def test_cli_says_so_and_checks_the_moved_assigner(tmp_path):
    proc = subprocess.run([SEGDET, "print-config", str(_write(tmp_path)), "--explain", "model.test_cfg.nms_pre"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "model.test_cfg.nms_pre = 77" in proc.stdout
    assert "top-level test_cfg" in proc.stderr and "deprecated" in proc.stderr
    bad = subprocess.run([SEGDET, "check-config", str(_write(tmp_path, ", pos_iou_thrr=0.5"))],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode != 0
    assert "pos_iou_thrr" in bad.stderr and "legacy.py:4" in bad.stderr


def test_pretrained_helper_variable_used_by_the_model_stays(tmp_path):
    path = tmp_path / "swin_like.py"
    path.write_text("pretrained = 'weights/swin_tiny.pth'\n"
                    "model = dict(type='MaskRCNN', backbone=dict(type='SwinTransformer',\n"
                    "             init_cfg=dict(type='Pretrained', checkpoint=pretrained)))\n")
    cfg = Config.fromfile(str(path))
    assert upgrade_legacy_keys(cfg) == []
    assert "pretrained" not in cfg.model and cfg.pretrained == "weights/swin_tiny.pth"


def test_unused_top_level_pretrained_moves(tmp_path):
    path = tmp_path / "old.py"
    path.write_text("pretrained = 'torchvision://resnet50'\nmodel = dict(type='RetinaNet')\n")
    cfg = Config.fromfile(str(path))
    with pytest.warns(DeprecationWarning):
        upgrade_legacy_keys(cfg)
    assert cfg.model.pretrained == "torchvision://resnet50"


def test_explicit_model_pretrained_none_keeps_the_top_level_variable(tmp_path):
    path = tmp_path / "swin_like.py"
    path.write_text("pretrained = 'https://example.invalid/swin.pth'\n"
                    "model = dict(type='MaskRCNN', pretrained=None, backbone=dict(type='SwinTransformer'))\n")
    cfg = Config.fromfile(str(path))
    assert upgrade_legacy_keys(cfg) == []
    assert cfg.model.pretrained is None
