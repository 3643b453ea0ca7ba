"""Pad (size, size_divisor, pad_to_square, seg 255) and RandomCrop (types, boxes, None, cat_max_ratio)."""
from __future__ import annotations

import numpy as np
import pytest

from segdet.data.transforms.crop import RandomCrop
from segdet.data.transforms.pad import Pad


def _results(h: int, w: int, boxes: list[list[float]] | None = None) -> dict:
    img = np.full((h, w, 3), 7, np.uint8)
    res = dict(img=img, img_shape=img.shape, img_fields=["img"], bbox_fields=[], mask_fields=[],
               seg_fields=["gt_semantic_seg"], gt_semantic_seg=np.ones((h, w), np.uint8))
    if boxes is not None:
        res["gt_bboxes"] = np.array(boxes, np.float32).reshape(-1, 4)
        res["gt_labels"] = np.arange(len(res["gt_bboxes"]), dtype=np.int64)
        res["bbox_fields"].append("gt_bboxes")
        masks = np.zeros((len(res["gt_bboxes"]), h, w), np.uint8)
        for m, (x1, y1, x2, y2) in zip(masks, res["gt_bboxes"].astype(int)):
            m[y1:y2, x1:x2] = 1
        res["gt_masks"] = masks
        res["mask_fields"].append("gt_masks")
    return res


def test_pad_size_divisor() -> None:
    res = _results(33, 50, [[0, 0, 10, 10]])
    out = Pad(size_divisor=32)(res)
    assert out["img"].shape == (64, 64, 3) and out["pad_shape"] == (64, 64, 3)
    assert out["img_shape"] == (33, 50, 3)  # the valid part is unchanged
    assert (out["img"][:33, :50] == 7).all() and (out["img"][33:] == 0).all() and (out["img"][:, 50:] == 0).all()
    assert out["gt_masks"].shape == (1, 64, 64) and out["gt_masks"][:, 33:].sum() == 0
    seg = out["gt_semantic_seg"]
    assert seg.shape == (64, 64) and (seg[:33, :50] == 1).all() and (seg[33:] == 255).all() and (seg[:, 50:] == 255).all()
    assert out["pad_size_divisor"] == 32 and out["pad_fixed_size"] is None


def test_pad_exact_multiple_is_unchanged() -> None:
    assert Pad(size_divisor=32)(_results(64, 32))["img"].shape == (64, 32, 3)


def test_pad_fixed_size_and_square_and_values() -> None:
    out = Pad(size=(40, 60), pad_val=3, seg_pad_val=200)(_results(33, 50))
    assert out["img"].shape == (40, 60, 3) and out["img"][39, 59, 0] == 3
    assert out["gt_semantic_seg"][39, 59] == 200
    out = Pad(pad_to_square=True)(_results(33, 50))
    assert out["img"].shape == (50, 50, 3)
    out = Pad(size_divisor=8, pad_val=dict(img=5, masks=0, seg=100))(_results(9, 9))
    assert out["img"][15, 15, 0] == 5 and out["gt_semantic_seg"][15, 15] == 100


def test_pad_float_image_keeps_dtype() -> None:
    res = _results(3, 5)
    res["img"] = res["img"].astype(np.float32) / 3
    out = Pad(size_divisor=4)(res)
    assert out["img"].dtype == np.float32 and out["img"].shape == (4, 8, 3)


def test_pad_needs_exactly_one_mode() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        Pad()
    with pytest.raises(ValueError, match="exactly one"):
        Pad(size=(10, 10), size_divisor=32)


def test_crop_absolute_boxes_masks_labels() -> None:
    res = _results(20, 30, [[2, 2, 8, 8], [20, 10, 28, 18], [5, 15, 12, 20]])
    np.random.seed(0)
    crop = RandomCrop(crop_size=(10, 15), crop_type="absolute", allow_negative_crop=True)
    # force the window to start at (x0, y0) = (0, 0)
    orig = np.random.randint
    np.random.randint = lambda lo, hi=None, *a: 0  # type: ignore[assignment]
    try:
        out = crop(res)
    finally:
        np.random.randint = orig  # type: ignore[assignment]
    assert out["img"].shape == (10, 15, 3) and out["img_shape"] == (10, 15, 3)
    # box 1 kept, box 2 outside (x1 20 > 15) dropped, box 3 clipped to y in [10, 10] -> empty, dropped
    np.testing.assert_array_equal(out["gt_bboxes"], [[2, 2, 8, 8]])
    np.testing.assert_array_equal(out["gt_labels"], [0])
    assert out["gt_masks"].shape == (1, 10, 15) and out["gt_masks"][0].sum() == 36
    assert out["gt_semantic_seg"].shape == (10, 15)


def test_crop_offset_subtracts_and_clips() -> None:
    res = _results(20, 30, [[8, 4, 25, 19]])
    np.random.seed(0)
    out = RandomCrop(crop_size=(10, 10))(res)
    assert out is not None
    # the one box covers most of the image; whatever the window, it is the box minus the offset, clipped
    ys, xs = np.nonzero(out["gt_masks"][0])
    np.testing.assert_array_equal(out["gt_bboxes"][0], [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])


def test_crop_without_boxes_returns_none_unless_allowed() -> None:
    res = _results(20, 30, [[0, 0, 2, 2]])
    orig = np.random.randint
    np.random.randint = lambda lo, hi=None, *a: (hi - 1) if hi is not None else 0  # bottom-right window
    try:
        assert RandomCrop(crop_size=(10, 10))(res) is None
        out = RandomCrop(crop_size=(10, 10), allow_negative_crop=True)(_results(20, 30, [[0, 0, 2, 2]]))
    finally:
        np.random.randint = orig  # type: ignore[assignment]
    assert out is not None and out["gt_bboxes"].shape == (0, 4) and out["gt_labels"].shape == (0,)
    assert out["gt_masks"].shape == (0, 10, 10)


def test_crop_size_types() -> None:
    np.random.seed(0)
    assert RandomCrop((10, 50), "absolute", allow_negative_crop=True)(_results(20, 30))["img"].shape[:2] == (10, 30)
    assert RandomCrop((0.5, 0.25), "relative", allow_negative_crop=True)(_results(20, 30))["img"].shape[:2] == (10, 8)
    for _ in range(20):
        h, w = RandomCrop((0.5, 0.5), "relative_range", allow_negative_crop=True)(_results(20, 30))["img"].shape[:2]
        assert 10 <= h <= 20 and 15 <= w <= 30
        h, w = RandomCrop((5, 12), "absolute_range", allow_negative_crop=True)(_results(20, 30))["img"].shape[:2]
        assert 5 <= h <= 12 and 5 <= w <= 12
    # range larger than the image: capped by the image, as MMDetection does
    h, w = RandomCrop((40, 50), "absolute_range", allow_negative_crop=True)(_results(20, 30))["img"].shape[:2]
    assert (h, w) == (20, 30)


def test_crop_bad_type() -> None:
    with pytest.raises(ValueError, match="crop_type"):
        RandomCrop((10, 10), crop_type="square")


def test_crop_cat_max_ratio_avoids_single_class_windows() -> None:
    seg = np.zeros((40, 40), np.uint8)
    seg[:, 30:] = 2  # a 10 px wide stripe of class 2; the rest is class 0
    seg[0:5] = 255
    found = 0
    for s in range(20):
        np.random.seed(s)
        res = _results(40, 40)
        res["gt_semantic_seg"] = seg.copy()
        out = RandomCrop((20, 20), cat_max_ratio=0.75, allow_negative_crop=True)(res)
        labels, counts = np.unique(out["gt_semantic_seg"], return_counts=True)
        counts = counts[labels != 255]
        found += len(counts) > 1 and counts.max() / counts.sum() < 0.75
    assert found >= 18  # 10 tries each; windows holding both classes are common


@pytest.mark.parametrize("shape", [(5, 7), (5, 7, 1), (5, 7, 3), (5, 7, 6)])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.int64])
def test_pad_array_paths_match_numpy(shape: tuple[int, ...], dtype: type) -> None:
    from segdet.data.transforms.pad import pad_array

    arr = np.random.default_rng(0).integers(0, 200, shape).astype(dtype)
    out = pad_array(arr[:, ::-1], 8, 9, 17)
    assert out.shape == (8, 9, *shape[2:]) and out.dtype == arr.dtype
    np.testing.assert_array_equal(out[:5, :7], arr[:, ::-1])
    assert (out[5:] == 17).all() and (out[:, 7:] == 17).all()
