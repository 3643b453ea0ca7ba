"""The bincount confusion matrix behind IoUMetric against a plain numpy computation of the areas."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pytest
import torch

from segdet.evaluation import seg_confusion
from segdet.evaluation.iou_metric import IoUMetric, areas_from_confusion, intersect_and_union
from segdet.evaluation.seg_confusion import seg_confusion_matrix


def _numpy_areas(pred: np.ndarray, label: np.ndarray, k: int, ignore: int,
                 label_map: Mapping[int, int] | None, reduce_zero_label: bool) -> list[np.ndarray]:
    """MMSegmentation's intersect_and_union, written directly in numpy."""
    pred = np.asarray(pred).astype(np.int64)
    label = np.asarray(label).astype(np.int64)
    if label_map:
        mapped = label.copy()
        for old, new in label_map.items():
            mapped[label == old] = new if new >= 0 else ignore
        label = mapped
    if reduce_zero_label:
        label = np.where(label == 0, ignore, label - 1)
        label[label == ignore - 1] = ignore
    keep = (label != ignore) & (label >= 0) & (label < k)
    p, g = pred[keep], label[keep]
    inter = np.bincount(g[p == g], minlength=k)[:k]
    area_pred = np.bincount(p[(p >= 0) & (p < k)], minlength=k)[:k]
    area_label = np.bincount(g, minlength=k)[:k]
    return [inter, area_pred + area_label - inter, area_pred, area_label]


def _maps(rng: np.random.Generator, k: int, shape: tuple[int, int], ignore: int, label_dtype: type,
          wild_preds: bool | str) -> tuple[np.ndarray, np.ndarray]:
    label = rng.integers(0, k + 1, shape)  # k: one past the classes (dropped unless reduce_zero_label)
    label[rng.random(shape) < 0.15] = ignore
    pred = np.where(rng.random(shape) < 0.6, np.clip(label, 0, k - 1), rng.integers(0, k, shape))
    if wild_preds:  # predictions outside the classes drop out of area_pred only
        if wild_preds != "high":
            pred[rng.random(shape) < 0.05] = -3
        pred[rng.random(shape) < 0.05] = k + 40
    return pred, label.astype(label_dtype)


CASES = [  # k, ignore, label dtype, label_map, reduce_zero_label, wild predictions
    (19, 255, np.uint8, None, False, False),
    (19, 255, np.uint8, None, True, False),
    (5, 255, np.int64, None, False, True),
    (5, 255, np.uint16, None, True, True),
    (5, 255, np.uint8, None, False, "high"),       # too large only: the min/max check sees it
    (6, 0, np.int32, None, False, False),          # the ignore index is a class index: masked
    (6, -1, np.int64, None, False, True),          # negative ignore index
    (4, 255, np.uint8, {1: 3, 3: 1, 2: -1}, False, False),
    (4, 255, np.uint8, {5: 0, 0: 2}, True, True),
    (200, 255, np.int32, None, False, False),      # (k + 1)^2 > int16: int32 bins
]


@pytest.mark.parametrize("case", CASES, ids=[f"k{c[0]}-ign{c[1]}-{c[2].__name__}-map{bool(c[3])}-rzl{c[4]}"
                                             f"-wild{c[5]}" for c in CASES])
@pytest.mark.parametrize("as_tensor", [True, False])
@pytest.mark.parametrize("block", [None, 97], ids=["one-block", "blocks-of-97"])
def test_areas_equal_numpy_reference(case: tuple, as_tensor: bool, block: int | None,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """On CPU a map goes in blocks (of 32768 pixels; 97 here, so that 37x53 maps span 21 blocks
    with a short last one): the sum over blocks is the whole map's count."""
    if block is not None:
        monkeypatch.setattr(seg_confusion, "_CPU_BLOCK", block)
    k, ignore, dtype, label_map, rzl, wild = case
    rng = np.random.default_rng(k + ignore)
    pred, label = _maps(rng, k, (37, 53), ignore, dtype, wild)
    label_before, pred_before = label.copy(), pred.copy()
    inp = torch.from_numpy(pred) if as_tensor else pred
    got = intersect_and_union(inp, label, k, ignore, label_map, rzl)
    ref = _numpy_areas(pred, label, k, ignore, label_map, rzl)
    for g, r in zip(got, ref):
        assert g.dtype == np.int64 and g.shape == (k,)
        np.testing.assert_array_equal(g, r)
    assert ref[0].sum() > 0 and ref[3].sum() > 0  # the case counts something
    np.testing.assert_array_equal(label, label_before)  # inputs untouched
    np.testing.assert_array_equal(pred, pred_before)


def test_confusion_matrix_entries() -> None:
    pred = torch.tensor([[0, 1, 2], [7, 1, 0]])
    label = np.array([[0, 0, 2], [1, 255, 3]], np.uint8)
    cm = seg_confusion_matrix(pred, label, 3)
    assert cm.dtype == torch.int64 and cm.shape == (3, 4)
    # (0,0) (0,1) (2,2) (1, out of range); the 255 pixel and the label 3 pixel do not count
    assert cm.tolist() == [[1, 1, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]]
    inter, union, area_pred, area_label = areas_from_confusion(cm)
    assert inter.tolist() == [1, 0, 1] and area_label.tolist() == [2, 1, 1]
    assert area_pred.tolist() == [1, 1, 1] and union.tolist() == [2, 2, 1]


@pytest.mark.parametrize("reduce_zero_label", [False, True])
def test_metric_over_images_equals_numpy_reference(reduce_zero_label: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """Random maps with ignore pixels, accumulated image by image, give the numbers of areas
    summed by the numpy reference; the running counts stay a Tensor on the prediction's device."""
    k = 7
    rng = np.random.default_rng(5)
    monkeypatch.setattr(seg_confusion, "_CPU_BLOCK", 64)
    metric = IoUMetric(metrics=("mIoU", "mDice", "mFscore"), num_classes=k, reduce_zero_label=reduce_zero_label)
    total = [np.zeros(k, np.int64) for _ in range(4)]
    for i in range(4):
        pred, label = _maps(rng, k, (20 + 3 * i, 31), 255, np.uint8, wild_preds=i == 2)
        metric.accumulate(torch.from_numpy(pred), label)
        total = [t + a for t, a in zip(total, _numpy_areas(pred, label, k, 255, None, reduce_zero_label))]
    assert isinstance(metric._confusion, torch.Tensor) and metric._confusion.device.type == "cpu"
    out = metric.compute()
    inter, union, area_pred, area_label = (t.astype(float) for t in total)
    with np.errstate(divide="ignore", invalid="ignore"):
        np.testing.assert_array_equal(out["IoU"], inter / union)
        np.testing.assert_array_equal(out["Acc"], inter / area_label)
        np.testing.assert_array_equal(out["Dice"], 2 * inter / (area_pred + area_label))
    assert out["aAcc"] == inter.sum() / area_label.sum()
    assert out["mIoU"] == np.nanmean(inter / union)
    assert metric.confusion is not None and metric.confusion.sum() == area_label.sum()


def test_shape_mismatch_names_both_shapes() -> None:
    with pytest.raises(ValueError, match=r"prediction shape \(2, 2\) differs from label shape \(2, 3\)"):
        seg_confusion_matrix(torch.zeros(2, 2, dtype=torch.long), np.zeros((2, 3), np.uint8), 2)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_counts_made_and_kept_on_the_prediction_device() -> None:
    k = 19
    rng = np.random.default_rng(0)
    metric = IoUMetric(num_classes=k, reduce_zero_label=True)
    ref = IoUMetric(num_classes=k, reduce_zero_label=True)
    for _ in range(3):
        pred, label = _maps(rng, k, (64, 48), 255, np.uint8, wild_preds=True)
        metric.accumulate(torch.from_numpy(pred).cuda(), label)
        ref.accumulate(pred, label)
        assert metric._confusion.is_cuda
    np.testing.assert_array_equal(metric.confusion, ref.confusion)
