"""RandomFlip: boxes (x1' = w - x2), masks and maps in three directions; prob alias."""
from __future__ import annotations

import numpy as np
import pytest

from segdet.data.transforms.flip import RandomFlip, flip_boxes


def _results(h: int = 6, w: int = 10) -> dict:
    img = np.arange(h * w * 3, dtype=np.uint8).reshape(h, w, 3)
    seg = np.arange(h * w, dtype=np.uint8).reshape(h, w)
    mask = np.zeros((h, w), np.uint8)
    mask[1:3, 2:5] = 1  # box [2, 1, 5, 3]
    return dict(img=img, img_shape=img.shape, img_fields=["img"],
                gt_bboxes=np.array([[2, 1, 5, 3]], np.float32), bbox_fields=["gt_bboxes"],
                gt_masks=mask[None], mask_fields=["gt_masks"],
                gt_semantic_seg=seg, seg_fields=["gt_semantic_seg"])


@pytest.mark.parametrize(("direction", "box", "axes"), [
    ("horizontal", [10 - 5, 1, 10 - 2, 3], (1,)),
    ("vertical", [2, 6 - 3, 5, 6 - 1], (0,)),
    ("diagonal", [10 - 5, 6 - 3, 10 - 2, 6 - 1], (0, 1)),
])
def test_flip_directions(direction: str, box: list[float], axes: tuple[int, ...]) -> None:
    res = _results()
    img, seg, mask = res["img"].copy(), res["gt_semantic_seg"].copy(), res["gt_masks"][0].copy()
    out = RandomFlip(flip_ratio=1.0, direction=direction)(res)
    assert out["flip"] is True and out["flip_direction"] == direction
    np.testing.assert_array_equal(out["gt_bboxes"], [box])
    np.testing.assert_array_equal(out["img"], np.flip(img, axes))
    np.testing.assert_array_equal(out["gt_semantic_seg"], np.flip(seg, axes))
    np.testing.assert_array_equal(out["gt_masks"][0], np.flip(mask, axes))
    ys, xs = np.nonzero(out["gt_masks"][0])
    np.testing.assert_array_equal([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], box)
    assert out["img"].flags.c_contiguous and out["gt_masks"].flags.c_contiguous


def test_flip_twice_is_identity() -> None:
    boxes = np.array([[0.5, 1.5, 3.25, 5.0], [0, 0, 10, 6]], np.float32)
    for d in ("horizontal", "vertical", "diagonal"):
        np.testing.assert_allclose(flip_boxes(flip_boxes(boxes, (6, 10), d), (6, 10), d), boxes)


def test_flip_ratio_zero_keeps_everything() -> None:
    res = _results()
    img = res["img"].copy()
    out = RandomFlip(flip_ratio=0.0)(res)
    assert out["flip"] is False and out["flip_direction"] is None
    np.testing.assert_array_equal(out["img"], img)


def test_prob_is_an_alias_of_flip_ratio() -> None:
    out = RandomFlip(prob=1.0)(_results())
    assert out["flip"] is True and out["flip_direction"] == "horizontal"
    assert RandomFlip(prob=0.3).flip_ratio == 0.3


def test_flip_ratio_frequency() -> None:
    np.random.seed(0)
    t = RandomFlip(flip_ratio=0.5)
    flips = sum(t(_results())["flip"] for _ in range(400))
    assert 150 < flips < 250


def test_flip_list_of_ratios_per_direction() -> None:
    np.random.seed(0)
    t = RandomFlip(flip_ratio=[0.0, 1.0], direction=["horizontal", "vertical"])
    assert {t(_results())["flip_direction"] for _ in range(10)} == {"vertical"}


def test_flip_decided_by_results_at_test_time() -> None:
    res = _results()
    res["flip"], res["flip_direction"] = True, "vertical"
    out = RandomFlip()(res)  # flip_ratio None: MultiScaleFlipAug decides
    np.testing.assert_array_equal(out["gt_bboxes"], [[2, 3, 5, 5]])
    res = _results()
    res["flip"] = True  # no direction given: the first configured one
    assert RandomFlip(direction="vertical")(res)["flip_direction"] == "vertical"


def test_flip_bad_direction() -> None:
    with pytest.raises(ValueError, match="direction"):
        RandomFlip(flip_ratio=0.5, direction="sideways")


@pytest.mark.parametrize("shape", [(5, 7), (5, 7, 1), (5, 7, 3), (5, 7, 6)])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.int64, np.bool_])
def test_flip_array_paths_match_numpy(shape: tuple[int, ...], dtype: type) -> None:
    from segdet.data.transforms.flip import _flip_array

    arr = (np.random.default_rng(0).integers(0, 200, shape) % (2 if dtype is np.bool_ else 200)).astype(dtype)
    for direction, axes in (("horizontal", (1,)), ("vertical", (0,)), ("diagonal", (0, 1))):
        out = _flip_array(arr[:, ::1], direction)
        assert out.shape == arr.shape and out.dtype == arr.dtype and out.flags.c_contiguous
        np.testing.assert_array_equal(out, np.flip(arr, axes))
    masks = np.stack([arr, arr[::-1]]) if arr.ndim == 2 else None
    if masks is not None:
        np.testing.assert_array_equal(_flip_array(masks, "diagonal", (1, 2)), np.flip(masks, (1, 2)))


def test_flip_empty_masks() -> None:
    res = _results()
    res["gt_masks"] = np.zeros((0, 6, 10), np.uint8)
    res["gt_bboxes"] = np.zeros((0, 4), np.float32)
    out = RandomFlip(flip_ratio=1.0, direction="diagonal")(res)
    assert out["gt_masks"].shape == (0, 6, 10) and out["gt_bboxes"].shape == (0, 4)
