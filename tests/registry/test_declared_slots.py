"""Child slots are declared by components: a plugin's new slot is checked with no core edit."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from segdet.api import Slot, slots_of
from segdet.registry import check_config

from .fake_dists import activate, deactivate, write_dist

SEGDET = str(Path(sys.executable).with_name("segdet"))

WRAP_NECK = '''
from typing import ClassVar

from torch import nn

from segdet.api import Slot, build


class WrapNeck(nn.Module):
    """A neck around another neck, with an optional auxiliary loss: two new child slots."""

    slots: ClassVar[dict[str, Slot]] = {
        "inner": Slot("necks", fills=("in_channels",), optional=False),
        "aux_loss": Slot("losses"),
    }

    def __init__(self, in_channels: list, inner: dict, aux_loss: dict | None = None) -> None:
        super().__init__()
        self.inner = build(inner, "necks", default_args={"in_channels": in_channels})
        self.aux_loss = build(aux_loss, "losses") if aux_loss is not None else None
        self.out_channels = self.inner.out_channels
        self.strides = getattr(self.inner, "strides", None)

    def forward(self, feats):
        return self.inner(feats)
'''

CONFIG = """
model = dict(
    type='RetinaNet',
    backbone=dict(type='ResNet', depth=18, base_channels=8, out_indices=(1, 2, 3)),
    neck=dict(type='WrapNeck',
              inner=dict(type='FPN', out_channels=8, num_outs=3{inner_extra}),
              aux_loss=dict(type='FocalLoss'{loss_extra})),
    bbox_head=dict(type='RetinaHead', num_classes=3, stacked_convs=1, feat_channels=8,
                   anchor_generator=dict(type='AnchorGenerator', octave_base_scale=4,
                                         scales_per_octave=1, ratios=[1.0], strides=[8, 16, 32]),
                   bbox_coder=dict(type='DeltaXYWHBBoxCoder'),
                   loss_cls=dict(type='FocalLoss', use_sigmoid=True),
                   loss_bbox=dict(type='L1Loss')),
    train_cfg=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.4{assigner_extra})),
)
"""


@pytest.fixture
def wrap_site(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    write_dist(site, "segdet-neck-wrap", "0.1.0", {"segdet.necks": {"WrapNeck": "wrap_neck:WrapNeck"}},
               {"wrap_neck": WRAP_NECK})
    activate(site, monkeypatch)
    yield site
    deactivate(site)


def _write(tmp_path: Path, **extra: str) -> Path:
    keys = {"inner_extra": "", "loss_extra": "", "assigner_extra": "", **extra}
    path = tmp_path / "cfg.py"
    path.write_text(CONFIG.format(**keys))
    return path


def test_slots_merge_along_the_class_hierarchy():
    class Base:
        slots = {"a": Slot("necks"), "b": Slot("losses")}

    class Child(Base):
        slots = {"b": Slot("heads"), "c": Slot("task_modules", fills=("in_channels",))}

    merged = slots_of(Child())
    assert merged["a"].group == "necks" and merged["b"].group == "heads"
    assert merged["c"].fills == ("in_channels",)


def test_new_slot_of_a_plugin_is_checked(wrap_site, tmp_path):
    from segdet import Config

    good = Config.fromfile(str(_write(tmp_path)))
    assert check_config(good) == []
    bad = Config.fromfile(str(_write(tmp_path, inner_extra=", num_outz=3", loss_extra=", gama=2.0",
                                     assigner_extra=", pos_iou_thrr=0.5")))
    problems = "\n".join(check_config(bad))
    assert "model.neck.inner.num_outz" in problems and "did you mean 'num_outs'" in problems
    assert "model.neck.aux_loss.gama" in problems and "'gamma'" in problems
    # the detector passes its train_cfg to the head, which declares train_cfg.assigner
    assert "model.train_cfg.assigner.pos_iou_thrr" in problems


def test_new_slot_builds_and_runs(wrap_site, tmp_path):
    import torch

    from segdet import Config, build_model

    model = build_model(Config.fromfile(str(_write(tmp_path))).model)
    assert type(model.neck).__name__ == "WrapNeck" and model.neck.aux_loss is not None
    feats = model.extract_feat(torch.rand(1, 3, 64, 64))
    assert [f.shape[1] for f in feats] == [8, 8, 8]


def test_check_config_cli_sees_the_plugin_slot(wrap_site, tmp_path):
    cfg = _write(tmp_path, loss_extra=", gama=2.0")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(wrap_site), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([SEGDET, "check-config", str(cfg)], capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode != 0
    assert "model.neck.aux_loss.gama" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr


def test_dotted_slot_through_a_list_checks_every_item():
    from segdet.registry.check import lookup_path

    args = {"train_cfg": [{"assigner": {"type": "A"}}, {"assigner": {"type": "B"}}, {"other": 1}]}
    assert lookup_path(args, "train_cfg.assigner") == [{"type": "A"}, {"type": "B"}]
    assert lookup_path({"train_cfg": {"assigner": {"type": "A"}}}, "train_cfg.assigner") == {"type": "A"}
    assert lookup_path({"train_cfg": None}, "train_cfg.assigner") is not None  # missing marker, not None


def test_cascade_stage_assigner_typo_is_found():
    from segdet import Config

    repo = Path(__file__).resolve().parents[2]
    cfg = Config.fromfile(str(repo / "configs/cascade_rcnn/cascade_rcnn_r50_fpn_1x_coco.py"),
                          cfg_options={"model.train_cfg.rcnn.1.assigner.pos_iou_thrr": 0.6})
    problems = "\n".join(check_config(cfg))
    assert "model.train_cfg.rcnn.1.assigner.pos_iou_thrr" in problems
