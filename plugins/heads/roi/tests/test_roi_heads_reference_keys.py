"""RoI heads built from MMDetection 2.x config sections have MMDetection's ``roi_head.*`` state-dict keys."""
from __future__ import annotations

import pytest

from segdet import build
from segdet.testing.shared import reference_keys


def _extractor(size: int) -> dict:
    return dict(type="SingleRoIExtractor", roi_layer=dict(type="RoIAlign", output_size=size, sampling_ratio=0),
                out_channels=256, featmap_strides=[4, 8, 16, 32])


def _bbox_head(agnostic: bool, stds: list[float]) -> dict:
    return dict(type="Shared2FCBBoxHead", in_channels=256, fc_out_channels=1024, roi_feat_size=7, num_classes=80,
                bbox_coder=dict(type="DeltaXYWHBBoxCoder", target_means=[0.0, 0.0, 0.0, 0.0], target_stds=stds),
                reg_class_agnostic=agnostic,
                loss_cls=dict(type="CrossEntropyLoss", use_sigmoid=False, loss_weight=1.0),
                loss_bbox=dict(type="L1Loss", loss_weight=1.0))


FASTER = dict(type="StandardRoIHead", bbox_roi_extractor=_extractor(7),
              bbox_head=_bbox_head(False, [0.1, 0.1, 0.2, 0.2]))
MASK = dict(FASTER, mask_roi_extractor=_extractor(14),
            mask_head=dict(type="FCNMaskHead", num_convs=4, in_channels=256, conv_out_channels=256, num_classes=80,
                           loss_mask=dict(type="CrossEntropyLoss", use_mask=True, loss_weight=1.0)))
CASCADE = dict(type="CascadeRoIHead", num_stages=3, stage_loss_weights=[1, 0.5, 0.25],
               bbox_roi_extractor=_extractor(7),
               bbox_head=[_bbox_head(True, [0.1, 0.1, 0.2, 0.2]), _bbox_head(True, [0.05, 0.05, 0.1, 0.1]),
                          _bbox_head(True, [0.033, 0.033, 0.067, 0.067])])

CASES = {
    "faster_rcnn/faster_rcnn_r50_fpn_1x_coco.py": FASTER,
    "mask_rcnn/mask_rcnn_r50_fpn_1x_coco.py": MASK,
    "swin/mask_rcnn_swin-t-p4-w7_fpn_1x_coco.py": MASK,
    "cascade_rcnn/cascade_rcnn_r50_fpn_1x_coco.py": CASCADE,
}


@pytest.mark.slow
@pytest.mark.parametrize("path", sorted(CASES))
def test_roi_head_state_dict_matches_mmdetection(path):
    reference = {k[len("roi_head."):]: v for k, v in reference_keys()[path].items()
                 if k.startswith("roi_head.")}
    assert reference, f"no roi_head entries for {path}"
    head = build(CASES[path], "heads")
    got = {k: list(v.shape) for k, v in head.state_dict().items()}
    assert sorted(set(reference) - set(got)) == [], "missing keys"
    assert sorted(set(got) - set(reference)) == [], "unexpected keys"
    assert {k: (got[k], reference[k]) for k in reference if got[k] != reference[k]} == {}
