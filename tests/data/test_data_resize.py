"""Resize against MMDetection 2.x semantics, with hand-computed sizes."""
from __future__ import annotations

import numpy as np
import pytest

from segdet.data.transforms.resize import Resize, rescale_size


def _results(h: int, w: int, boxes: list[list[float]] | None = None) -> dict:
    img = np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)
    res = dict(img=img, img_shape=img.shape, ori_shape=img.shape, img_fields=["img"],
               bbox_fields=[], mask_fields=[], seg_fields=[])
    if boxes is not None:
        res["gt_bboxes"] = np.array(boxes, np.float32).reshape(-1, 4)
        res["bbox_fields"].append("gt_bboxes")
    return res


def test_rescale_size_keep_ratio_coco_scale() -> None:
    # 500x375: min(1333/500, 800/375) = 2.1333 -> (1066.67 + 0.5 -> 1067, 800)
    assert rescale_size(500, 375, (1333, 800))[:2] == (1067, 800)
    # portrait 375x500 gives the same factor: short edge 800 caps it
    assert rescale_size(375, 500, (1333, 800))[:2] == (800, 1067)
    # a very wide image is capped by the long edge: 2000x500 -> factor 1333/2000
    assert rescale_size(2000, 500, (1333, 800))[:2] == (1333, 333)


def test_resize_keep_ratio_image_and_scale_factor() -> None:
    res = Resize(img_scale=(1333, 800), keep_ratio=True)(_results(375, 500))
    assert res["img"].shape == (800, 1067, 3)
    assert res["img_shape"] == (800, 1067, 3)
    assert res["pad_shape"] == (800, 1067, 3)
    assert res["scale_factor"].dtype == np.float32
    np.testing.assert_allclose(res["scale_factor"], [1067 / 500, 800 / 375, 1067 / 500, 800 / 375], rtol=1e-6)
    assert res["keep_ratio"] is True
    assert res["scale"] == (1333, 800)


def test_resize_no_keep_ratio_exact_size() -> None:
    res = Resize(img_scale=(64, 32), keep_ratio=False)(_results(50, 100))
    assert res["img"].shape == (32, 64, 3)
    np.testing.assert_allclose(res["scale_factor"], [0.64, 0.64, 0.64, 0.64])


def test_resize_boxes_scaled_and_clipped() -> None:
    boxes = [[10, 20, 50, 40], [90, 0, 120, 60]]  # second one leaves the 100 px wide image
    res = Resize(img_scale=(200, 100), keep_ratio=False)(_results(50, 100, boxes))
    np.testing.assert_allclose(res["gt_bboxes"], [[20, 40, 100, 80], [180, 0, 200, 100]])
    assert res["gt_bboxes"].dtype == np.float32
    res = Resize(img_scale=(200, 100), keep_ratio=False, bbox_clip_border=False)(_results(50, 100, boxes))
    np.testing.assert_allclose(res["gt_bboxes"][1], [180, 0, 240, 120])


def test_resize_masks_and_seg_use_nearest() -> None:
    res = _results(4, 4)
    seg = np.array([[0, 0, 7, 7], [0, 0, 7, 7], [3, 3, 255, 255], [3, 3, 255, 255]], np.uint8)
    res["gt_semantic_seg"] = seg
    res["seg_fields"].append("gt_semantic_seg")
    res["gt_masks"] = np.stack([(seg == 7).astype(np.uint8), (seg == 3).astype(np.uint8)])
    res["mask_fields"].append("gt_masks")
    out = Resize(img_scale=(8, 8), keep_ratio=False)(res)
    expected = np.kron(seg, np.ones((2, 2), np.uint8))
    np.testing.assert_array_equal(out["gt_semantic_seg"], expected)  # no blended labels
    assert set(np.unique(out["gt_semantic_seg"])) == {0, 3, 7, 255}
    np.testing.assert_array_equal(out["gt_masks"][0], (expected == 7).astype(np.uint8))
    assert out["gt_masks"].shape == (2, 8, 8) and out["gt_masks"].dtype == np.uint8


def test_resize_empty_masks_keep_new_size() -> None:
    res = _results(10, 20)
    res["gt_masks"] = np.zeros((0, 10, 20), np.uint8)
    res["mask_fields"].append("gt_masks")
    out = Resize(img_scale=(40, 20), keep_ratio=False)(res)
    assert out["gt_masks"].shape == (0, 20, 40)


def test_resize_ratio_range_scales_the_single_scale(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(np.random, "uniform", lambda lo, hi: 0.5)
    res = Resize(img_scale=(200, 100), ratio_range=(0.5, 2.0), keep_ratio=True)(_results(50, 100))
    assert res["scale"] == (100, 50)
    assert res["img"].shape[:2] == (50, 100)


def test_resize_ratio_range_bounds() -> None:
    np.random.seed(0)
    t = Resize(img_scale=(100, 100), ratio_range=(0.5, 1.5), keep_ratio=False)
    for _ in range(20):
        w, h = t(_results(10, 10))["scale"]
        assert w == h and 50 <= w <= 150


def test_resize_ratio_range_needs_one_scale() -> None:
    with pytest.raises(ValueError, match="ratio_range"):
        Resize(img_scale=[(10, 10), (20, 20)], ratio_range=(0.5, 1.5))


def test_resize_multiscale_value_picks_a_listed_scale() -> None:
    np.random.seed(0)
    scales = [(1333, 640), (1333, 800)]
    t = Resize(img_scale=scales, multiscale_mode="value", keep_ratio=True)
    seen = {t(_results(30, 40))["scale"] for _ in range(30)}
    assert seen == set(scales)


def test_resize_multiscale_range_samples_long_and_short_edges() -> None:
    np.random.seed(0)
    t = Resize(img_scale=[(1333, 640), (1000, 800)], multiscale_mode="range", keep_ratio=True)
    for _ in range(30):
        long_edge, short_edge = t(_results(30, 40))["scale"]
        assert 1000 <= long_edge <= 1333 and 640 <= short_edge <= 800


def test_resize_scale_from_results_and_scalar_scale_factor() -> None:
    res = _results(50, 100)
    res["scale"] = (50, 50)  # given by MultiScaleFlipAug
    assert Resize(keep_ratio=True)(res)["img"].shape[:2] == (25, 50)
    res = _results(50, 100)
    res["scale_factor"] = 0.5
    out = Resize(keep_ratio=True)(res)
    assert out["img"].shape[:2] == (25, 50)
    np.testing.assert_allclose(out["scale_factor"], [0.5] * 4)


def test_resize_without_any_scale_is_an_error() -> None:
    with pytest.raises(ValueError, match="img_scale"):
        Resize()(_results(10, 10))


def test_resize_bad_mode() -> None:
    with pytest.raises(ValueError, match="multiscale_mode"):
        Resize(img_scale=(10, 10), multiscale_mode="uniform")


def test_resize_single_channel_image_keeps_its_channel_axis() -> None:
    res = _results(10, 20)
    res["img"] = res["img"][..., :1].copy()
    out = Resize(img_scale=(40, 20), keep_ratio=False)(res)
    assert out["img"].shape == (20, 40, 1) and out["img_shape"] == (20, 40, 1)


def test_second_resize_needs_override() -> None:
    res = Resize(img_scale=(40, 20), keep_ratio=False)(_results(10, 20))
    with pytest.raises(ValueError, match="override=True"):
        Resize(img_scale=(80, 40), keep_ratio=False)(res)
    out = Resize(img_scale=(80, 40), keep_ratio=False, override=True)(res)
    assert out["img"].shape[:2] == (40, 80)
    np.testing.assert_allclose(out["scale_factor"], [2, 2, 2, 2])  # of this step, as MMDetection
