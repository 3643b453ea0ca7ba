"""IoUMetric against hand-computed values and an independent confusion-matrix computation."""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from segdet.evaluation.iou_metric import IoUMetric, intersect_and_union


def test_hand_computed_example() -> None:
    pred = torch.tensor([[0, 1], [1, 1]])
    label = np.array([[0, 1], [0, 255]], np.uint8)
    metric = IoUMetric(metrics=["mIoU", "mDice", "mFscore"], num_classes=2)
    metric.accumulate(pred, label)
    r = metric.compute()
    # class 0: I=1 P=1 L=2 U=2; class 1: I=1 P=2 L=1 U=2; the 255 pixel does not count
    np.testing.assert_allclose(r["IoU"], [0.5, 0.5])
    np.testing.assert_allclose(r["Acc"], [0.5, 1.0])
    np.testing.assert_allclose(r["Dice"], [2 / 3, 2 / 3])
    np.testing.assert_allclose(r["Precision"], [1.0, 0.5])
    np.testing.assert_allclose(r["Recall"], [0.5, 1.0])
    np.testing.assert_allclose(r["Fscore"], [2 / 3, 2 / 3])
    assert r["mIoU"] == pytest.approx(0.5)
    assert r["aAcc"] == pytest.approx(2 / 3)
    assert r["mAcc"] == pytest.approx(0.75)


def test_areas_accumulate_over_images_not_averaged_per_image() -> None:
    metric = IoUMetric(num_classes=2)
    metric.accumulate(np.array([[1, 1, 1, 1]]), np.array([[1, 1, 1, 1]]))  # IoU(1) = 1 on this image
    metric.accumulate(np.array([[0]]), np.array([[1]]))                    # IoU(1) = 0 on this one
    r = metric.compute()
    assert r["IoU"][1] == pytest.approx(4 / 5)  # not the per-image mean 0.5
    assert r["IoU"][0] == 0.0  # predicted once, never labelled: union 1, intersection 0


def test_absent_class_is_nan_and_skipped_in_mean() -> None:
    metric = IoUMetric(num_classes=3)
    metric.accumulate(np.array([[0, 1]]), np.array([[0, 1]]))
    r = metric.compute()
    assert np.isnan(r["IoU"][2]) and r["mIoU"] == pytest.approx(1.0)
    filled = IoUMetric(num_classes=3, nan_to_num=-1)
    filled.accumulate(np.array([[0, 1]]), np.array([[0, 1]]))
    assert filled.compute()["IoU"][2] == -1


def test_reduce_zero_label_and_label_map() -> None:
    area = intersect_and_union(np.array([[0, 0, 1, 1]]), np.array([[0, 1, 2, 255]]), 2, reduce_zero_label=True)
    # labels become [255, 0, 1, 255]: pixels 1 and 2 count
    assert [a.tolist() for a in area] == [[1, 1], [1, 1], [1, 1], [1, 1]]
    area = intersect_and_union(np.array([[0, 1, 1]]), np.array([[5, 7, 3]]), 2, label_map={5: 0, 7: 1, 3: -1})
    assert area[0].tolist() == [1, 1] and area[3].tolist() == [1, 1]


def _confusion_reference(preds: list[np.ndarray], labels: list[np.ndarray], k: int, ignore: int) -> Any:
    conf = np.zeros((k, k), np.int64)
    for p, g in zip(preds, labels):
        valid = g != ignore
        conf += np.bincount(g[valid].astype(np.int64) * k + p[valid], minlength=k * k).reshape(k, k)
    tp = np.diag(conf).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = tp / (conf.sum(0) + conf.sum(1) - tp)
        acc = tp / conf.sum(1)
        dice = 2 * tp / (conf.sum(0) + conf.sum(1))
    return iou, acc, dice, tp.sum() / conf.sum()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_maps_match_confusion_matrix(seed: int) -> None:
    rng = np.random.default_rng(seed)
    k = 5
    preds, labels = [], []
    for _ in range(4):
        h, w = rng.integers(5, 40, 2)
        g = rng.integers(0, k, (h, w))
        g[rng.random((h, w)) < 0.2] = 255
        p = np.where(rng.random((h, w)) < 0.6, np.where(g == 255, 0, g), rng.integers(0, k, (h, w)))
        preds.append(p)
        labels.append(g.astype(np.uint8))
    metric = IoUMetric(metrics=("mIoU", "mDice"), num_classes=k)
    for p, g in zip(preds, labels):
        metric.accumulate(torch.from_numpy(p), g)
    r = metric.compute()
    iou, acc, dice, aacc = _confusion_reference(preds, labels, k, 255)
    np.testing.assert_allclose(r["IoU"], iou)
    np.testing.assert_allclose(r["Acc"], acc)
    np.testing.assert_allclose(r["Dice"], dice)
    assert r["mIoU"] == pytest.approx(np.nanmean(iou))
    assert r["aAcc"] == pytest.approx(aacc)


def test_unknown_metric_and_shape_mismatch() -> None:
    with pytest.raises(KeyError, match="mAP"):
        IoUMetric(metrics="mAP")
    metric = IoUMetric(num_classes=2)
    with pytest.raises(ValueError, match="shape"):
        metric.accumulate(np.zeros((2, 2)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="before"):
        IoUMetric(num_classes=2).compute()
