"""Wording of messages: group names in singular ("unknown loss type", not "losse")."""
from __future__ import annotations

import pytest
from fault_helpers import assert_clean_failure, run_segdet

from segdet.registry.build import _singular

_RETINA = """
    model = dict(
        _delete_=True,
        type='RetinaNet',
        backbone=dict(type='ResNet', depth=18, base_channels=8, out_indices=(1, 2, 3)),
        neck=dict(type='FPN', out_channels=8, num_outs=3),
        bbox_head=dict(type='RetinaHead', num_classes=3, stacked_convs=1, feat_channels=8,
                       anchor_generator=dict(type='AnchorGenerator', octave_base_scale=4, scales_per_octave=1,
                                             ratios=[1.0], strides=[8, 16, 32]),
                       bbox_coder=dict(type='DeltaXYWHBBoxCoder'),
                       loss_cls=dict(type='FocalLos', use_sigmoid=True),
                       loss_bbox=dict(type='L1Loss')))
"""


def test_fault_unknown_loss_type_message(tmp_path, toy_config):
    proc = run_segdet("check-config", str(toy_config(_RETINA)), cwd=tmp_path)
    message = assert_clean_failure(proc, "unknown loss type 'FocalLos'", "model.bbox_head.loss_cls.type")
    assert "unknown losse " not in message and "FocalLoss" in message


@pytest.mark.parametrize("group, word", [("losses", "loss"), ("task_modules", "task module"), ("necks", "neck"),
                                         ("heads", "head"), ("metrics", "metric"), ("hooks", "hook")])
def test_group_names_in_singular(group, word):
    assert _singular(group) == word
