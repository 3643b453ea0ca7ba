"""Two-stage configs build models with exactly MMDetection's state-dict keys and shapes."""
from __future__ import annotations

from pathlib import Path

import pytest

from segdet.config import Config
from segdet.models.builder import build_model
from segdet.testing.shared import reference_keys

REPO = Path(__file__).resolve().parents[2]

CONFIGS = [
    "faster_rcnn/faster_rcnn_r50_fpn_1x_coco.py",
    "mask_rcnn/mask_rcnn_r50_fpn_1x_coco.py",
    "cascade_rcnn/cascade_rcnn_r50_fpn_1x_coco.py",
    "swin/mask_rcnn_swin-t-p4-w7_fpn_1x_coco.py",
]


def _keys(path: str) -> dict[str, list[int]]:
    cfg = Config.fromfile(str(REPO / "configs" / path))
    model = build_model(cfg.model)  # construction reads no pretrained file
    return {k: list(v.shape) for k, v in model.state_dict().items()}


@pytest.mark.slow
@pytest.mark.parametrize("path", CONFIGS)
def test_two_stage_matches_reference_keys(path):
    reference = reference_keys()[path]
    got = _keys(path)
    assert sorted(set(reference) - set(got)) == [], "missing keys"
    assert sorted(set(got) - set(reference)) == [], "unexpected keys"
    assert {k: (got[k], reference[k]) for k in reference if got[k] != reference[k]} == {}


@pytest.mark.slow
def test_cascade_mask_and_rpn_configs_build():
    """No reference entry exists for these two: Cascade Mask R-CNN is Cascade R-CNN plus one mask
    head per stage; RPN is Faster R-CNN's backbone, neck and RPN head alone."""
    cascade = reference_keys()["cascade_rcnn/cascade_rcnn_r50_fpn_1x_coco.py"]
    got = _keys("cascade_rcnn/cascade_mask_rcnn_r50_fpn_1x_coco.py")
    masks = {k: v for k, v in got.items() if k.startswith("roi_head.mask_head.")}
    assert {k: v for k, v in got.items() if k not in masks} == cascade
    assert {k.split(".")[2] for k in masks} == {"0", "1", "2"}
    assert masks["roi_head.mask_head.2.conv_logits.weight"] == [80, 256, 1, 1]
    faster = reference_keys()["faster_rcnn/faster_rcnn_r50_fpn_1x_coco.py"]
    assert _keys("rpn/rpn_r50_fpn_1x_coco.py") == {k: v for k, v in faster.items() if not k.startswith("roi_head.")}
