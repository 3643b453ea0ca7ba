"""Expand, MinIoURandomCrop and FilterAnnotations keep boxes, labels, masks and maps aligned.

Property tests in the manner of test_data_alignment_property.py: the image is K disjoint filled
rectangles of distinct colours; instance ``i`` has label ``i``, its mask is its rectangle and the
semantic map holds ``i + 1`` on it. After Expand (alone, or with MinIoURandomCrop and a flip after
it) each box must equal the bounding box of its mask, the image must show the instance's colour
exactly on its mask, and the map must equal the masks.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segdet.data.transforms.compose import Compose
from segdet.data.transforms.expand import Expand
from segdet.data.transforms.filter_annotations import FilterAnnotations
from segdet.data.transforms.min_iou_random_crop import MinIoURandomCrop

IGNORE = 255


@st.composite
def _scene(draw: st.DrawFn) -> dict[str, Any]:
    h, w = draw(st.integers(12, 48)), draw(st.integers(12, 48))
    img = np.zeros((h, w, 3), np.uint8)
    taken = np.zeros((h, w), bool)
    rects: list[tuple[int, int, int, int]] = []
    for _ in range(draw(st.integers(1, 4))):
        x1, y1 = draw(st.integers(0, w - 2)), draw(st.integers(0, h - 2))
        x2, y2 = draw(st.integers(x1 + 2, w)), draw(st.integers(y1 + 2, h))
        if not taken[y1:y2, x1:x2].any():
            taken[y1:y2, x1:x2] = True
            rects.append((x1, y1, x2, y2))
    if not rects:
        rects.append((0, 0, 2, 2))
    palette = np.array([[0, 0, 0]] + [[40 + 50 * i, 255 - 45 * i, 60 + 90 * (i % 3)] for i in range(len(rects))],
                       np.uint8)
    masks = np.zeros((len(rects), h, w), np.uint8)
    seg = np.zeros((h, w), np.uint8)
    for i, (x1, y1, x2, y2) in enumerate(rects):
        img[y1:y2, x1:x2] = palette[i + 1]
        masks[i, y1:y2, x1:x2] = 1
        seg[y1:y2, x1:x2] = i + 1
    return dict(img=img, img_shape=img.shape, ori_shape=img.shape, img_fields=["img"],
                gt_bboxes=np.array(rects, np.float32), gt_labels=np.arange(len(rects), dtype=np.int64),
                bbox_fields=["gt_bboxes"], gt_masks=masks, mask_fields=["gt_masks"],
                gt_semantic_seg=seg, seg_fields=["gt_semantic_seg"], palette=palette)


def _mask_box(mask: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(mask)
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float32)


def _check(res: dict[str, Any], palette: np.ndarray, fill: np.ndarray, clipped: bool) -> None:
    img, boxes, masks, seg = res["img"], res["gt_bboxes"], res["gt_masks"], res["gt_semantic_seg"]
    h, w = img.shape[:2]
    assert tuple(res["img_shape"][:2]) == (h, w) == seg.shape == masks.shape[1:]
    assert len(boxes) == len(masks) == len(res["gt_labels"]) >= 1
    assert (boxes[:, 0::2] >= 0).all() and (boxes[:, 0::2] <= w).all()
    assert (boxes[:, 1::2] >= 0).all() and (boxes[:, 1::2] <= h).all()
    for box, mask, label in zip(boxes, masks, res["gt_labels"]):
        assert mask.any()
        if clipped:  # a crop may cut a rectangle: its box was clipped to the crop, as its mask
            np.testing.assert_allclose(box, _mask_box(mask))
        else:
            np.testing.assert_array_equal(box, _mask_box(mask))
        on = mask.astype(bool)
        assert (img[on] == palette[label + 1]).all()
        np.testing.assert_array_equal(seg == label + 1, on)
    # everywhere else the image shows what the map says: background, an instance the crop dropped
    # (its centre left the patch, its pixels stay, as in MMDetection) or the canvas fill (ignore label)
    canvas = seg == IGNORE
    assert (img[canvas] == fill).all()
    np.testing.assert_array_equal(img[~canvas], palette[seg[~canvas]])
    if not clipped:
        assert set(np.unique(seg[~masks.astype(bool).any(0)])) <= {0, IGNORE}


@settings(max_examples=40, deadline=None)
@given(scene=_scene(), lo=st.floats(1.0, 2.5), extra=st.floats(0.0, 1.5), seed=st.integers(0, 2**16))
def test_expand_keeps_targets_aligned(scene: dict[str, Any], lo: float, extra: float, seed: int) -> None:
    palette = scene.pop("palette")
    h, w = scene["img"].shape[:2]
    before = scene["gt_bboxes"].copy()
    np.random.seed(seed)
    res = Expand(mean=(10, 20, 30), to_rgb=True, ratio_range=(lo, lo + extra), seg_ignore_label=IGNORE,
                 prob=1.0)(scene)
    eh, ew = res["img"].shape[:2]
    assert int(h * lo) <= eh <= int(h * (lo + extra)) + 1 and int(w * lo) <= ew <= int(w * (lo + extra)) + 1
    shift = res["gt_bboxes"] - before  # one translation for every box
    assert np.allclose(shift, shift[:1]) and shift[0, 0] == shift[0, 2] and shift[0, 1] == shift[0, 3]
    _check(res, palette, np.array([30, 20, 10], np.uint8), clipped=False)  # RGB mean, BGR image


@settings(max_examples=40, deadline=None)
@given(scene=_scene(), seed=st.integers(0, 2**16), flip=st.booleans())
def test_expand_then_min_iou_crop_keeps_targets_aligned(scene: dict[str, Any], seed: int, flip: bool) -> None:
    palette = scene.pop("palette")
    np.random.seed(seed)
    chain: list[dict[str, Any]] = [
        dict(type="Expand", mean=(0, 0, 0), ratio_range=(1, 3), seg_ignore_label=IGNORE, prob=1.0),
        dict(type="MinIoURandomCrop", min_ious=(0.1, 0.3, 0.5), min_crop_size=0.3),
    ]
    if flip:
        chain.append(dict(type="RandomFlip", flip_ratio=1.0, direction="horizontal"))
    res = Compose(chain)(scene)
    assert res is not None
    _check(res, palette, np.zeros(3, np.uint8), clipped=True)


def test_min_iou_crop_honours_the_drawn_threshold() -> None:
    img = np.zeros((100, 100, 3), np.uint8)
    boxes = np.array([[20, 20, 80, 80]], np.float32)
    crop = MinIoURandomCrop(min_ious=(0.7,), min_crop_size=0.3)
    checked = 0
    for seed in range(30):
        np.random.seed(seed)
        res = crop(dict(img=img, img_fields=["img"], img_shape=img.shape, gt_bboxes=boxes.copy(),
                        gt_labels=np.array([0]), bbox_fields=["gt_bboxes"]))
        h, w = res["img"].shape[:2]
        if crop.mode != 0.7:
            assert crop.mode == 1 and (h, w) == (100, 100) or crop.mode == 0
            continue  # mode 1 keeps the image, mode 0 takes any patch
        # the kept box, back in image coordinates before clipping, had IoU >= 0.7 with the patch
        inter = (res["gt_bboxes"][0, 2] - res["gt_bboxes"][0, 0]) * (res["gt_bboxes"][0, 3] - res["gt_bboxes"][0, 1])
        iou = inter / (h * w + 60 * 60 - inter)
        assert iou >= 0.7 - 1e-6 and 0.5 <= h / w <= 2
        checked += 1
    assert checked >= 5


def test_expand_probability_and_errors() -> None:
    img = np.zeros((8, 8, 3), np.uint8)
    np.random.seed(0)
    kept = sum(Expand(prob=0.0)(dict(img=img, img_shape=img.shape))["img"].shape != img.shape for _ in range(10))
    assert kept == 0
    with pytest.raises(ValueError, match="ratio_range"):
        Expand(ratio_range=(0.5, 2))
    with pytest.raises(ValueError, match="seg_ignore_label"):
        Expand(prob=1.0, ratio_range=(2, 2))(dict(img=img, gt_semantic_seg=np.zeros((8, 8), np.uint8),
                                                  seg_fields=["gt_semantic_seg"]))


def test_filter_annotations_by_box_and_mask() -> None:
    masks = np.zeros((3, 10, 10), np.uint8)
    masks[0, :5, :5] = 1
    masks[1, 0, 0] = 1
    boxes = np.array([[0, 0, 5, 5], [0, 0, 1, 1], [2, 2, 8, 3]], np.float32)  # w, h: 5x5, 1x1, 6x1

    def sample() -> dict[str, Any]:
        return dict(gt_bboxes=boxes.copy(), gt_labels=np.array([0, 1, 2]), gt_masks=masks.copy())

    res = FilterAnnotations(min_gt_bbox_wh=(1, 1))(sample())
    np.testing.assert_array_equal(res["gt_labels"], [0])  # 1x1 and 6x1 are not larger than 1 in both
    res = FilterAnnotations(by_box=False, by_mask=True, min_gt_mask_area=1)(sample())
    np.testing.assert_array_equal(res["gt_labels"], [0, 1])  # instance 2 has an empty mask
    assert res["gt_masks"].shape == (2, 10, 10) and len(res["gt_bboxes"]) == 2
    res = FilterAnnotations(by_box=True, by_mask=True, min_gt_bbox_wh=(0.5, 0.5), min_gt_mask_area=2)(sample())
    np.testing.assert_array_equal(res["gt_labels"], [0])
    assert FilterAnnotations(min_gt_bbox_wh=(10, 10))(sample()) is None
    emptied = FilterAnnotations(min_gt_bbox_wh=(10, 10), keep_empty=False)(sample())
    assert emptied is not None and len(emptied["gt_bboxes"]) == 0 and emptied["gt_masks"].shape == (0, 10, 10)
    none = dict(gt_bboxes=np.zeros((0, 4), np.float32), gt_labels=np.zeros(0, np.int64))
    assert FilterAnnotations()(none) is none
