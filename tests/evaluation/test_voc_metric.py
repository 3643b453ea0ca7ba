"""VOCMetric: result conversion, thresholds, scale ranges, modes, against eval_map directly."""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from segdet.evaluation.mean_ap import eval_map
from segdet.evaluation.voc_metric import VOCMetric, results_to_per_class


class _FakeVOC:
    """Two images, classes a/b; image 1 has a difficult 'b'."""

    CLASSES = ("a", "b")

    def __init__(self) -> None:
        self.anns = [
            dict(bboxes=np.array([[0, 0, 10, 10], [20, 20, 60, 60]], np.float32), labels=np.array([0, 1]),
                 bboxes_ignore=np.zeros((0, 4), np.float32), labels_ignore=np.zeros(0, np.int64)),
            dict(bboxes=np.array([[5, 5, 25, 25]], np.float32), labels=np.array([0]),
                 bboxes_ignore=np.array([[30, 30, 50, 50]], np.float32), labels_ignore=np.array([1])),
        ]

    def __len__(self) -> int:
        return len(self.anns)

    def get_ann_info(self, idx: int) -> dict[str, Any]:
        return self.anns[idx]


def _results() -> list[dict[str, Any]]:
    return [dict(bboxes=torch.tensor([[0.0, 0, 10, 10], [21, 21, 60, 60], [0, 0, 3, 3]]),
                 scores=torch.tensor([0.9, 0.8, 0.7]), labels=torch.tensor([0, 1, 1])),
            dict(bboxes=torch.tensor([[5.0, 5, 24, 27], [30, 30, 50, 50]]),
                 scores=torch.tensor([0.6, 0.95]), labels=torch.tensor([0, 1]))]


def test_per_class_conversion() -> None:
    per_class = results_to_per_class(_results()[0], 2)
    assert [p.shape for p in per_class] == [(1, 5), (2, 5)]
    np.testing.assert_allclose(per_class[1][:, 4], [0.8, 0.7], atol=1e-6)
    assert results_to_per_class(per_class, 2)[1].dtype == np.float32
    with pytest.raises(ValueError, match="outside"):
        results_to_per_class(dict(bboxes=np.zeros((1, 4)), scores=np.ones(1), labels=np.array([2])), 2)


def test_matches_eval_map_and_thresholds() -> None:
    ds, results = _FakeVOC(), _results()
    out = VOCMetric(iou_thr=[0.5, 0.9]).evaluate(results, ds)
    assert list(out) == ["mAP", "AP50", "AP90"]
    per_class = [results_to_per_class(r, 2) for r in results]
    ap50, _ = eval_map(per_class, ds.anns, iou_thr=0.5, logger="silent")
    ap90, _ = eval_map(per_class, ds.anns, iou_thr=0.9, logger="silent")
    assert out["AP50"] == round(ap50, 3) and out["AP90"] == round(ap90, 3)
    assert out["mAP"] == pytest.approx((ap50 + ap90) / 2)
    # at .5: both 'a' found (AP 1); 'b' found after the ignored hit, then a miss: AP 1
    assert out["AP50"] == 1.0 and out["AP90"] < 1.0


def test_modes_legacy_and_scale_ranges() -> None:
    ds, results = _FakeVOC(), _results()
    eleven = VOCMetric(eval_mode="11points", use_legacy_coordinate=True).evaluate(results, ds)
    assert eleven["AP50"] == 1.0
    scaled = VOCMetric(scale_ranges=[(0, 15), (15, 100)]).evaluate(results, ds)
    assert set(scaled) == {"mAP", "AP50", "AP50_0-15", "AP50_15-100"}
    assert scaled["AP50"] == pytest.approx((scaled["AP50_0-15"] + scaled["AP50_15-100"]) / 2, abs=1e-3)


def test_bad_arguments() -> None:
    with pytest.raises(KeyError, match="mAP"):
        VOCMetric(metric="recall")
    with pytest.raises(KeyError, match="11points"):
        VOCMetric(eval_mode="101")
    with pytest.raises(ValueError, match="2 images"):
        VOCMetric().evaluate(_results()[:1], _FakeVOC())
