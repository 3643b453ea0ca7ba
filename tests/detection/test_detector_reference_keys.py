"""Detectors built from segdet's configs have exactly MMDetection's state-dict keys and shapes."""
from __future__ import annotations

from pathlib import Path

import pytest

from segdet.config import Config
from segdet.models.builder import build_model
from segdet.testing.shared import reference_keys

REPO = Path(__file__).resolve().parents[2]

CONFIGS = [
    "retinanet/retinanet_r50_fpn_1x_coco.py",
    "retinanet/retinanet_r18_fpn_1x_coco.py",
    "atss/atss_r50_fpn_1x_coco.py",
    "fcos/fcos_r50_caffe_fpn_gn-head_1x_coco.py",
]


@pytest.mark.slow
@pytest.mark.parametrize("path", CONFIGS)
def test_detector_matches_reference_keys(path):
    reference = reference_keys()[path]
    cfg = Config.fromfile(str(REPO / "configs" / path))
    model = build_model(cfg.model)  # construction reads no pretrained file
    got = {k: list(v.shape) for k, v in model.state_dict().items()}
    assert sorted(set(reference) - set(got)) == [], "missing keys"
    assert sorted(set(got) - set(reference)) == [], "unexpected keys"
    wrong = {k: (got[k], reference[k]) for k in reference if got[k] != reference[k]}
    assert wrong == {}
