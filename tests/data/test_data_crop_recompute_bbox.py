"""RandomCrop(recompute_bbox=True): boxes become the tight boxes of the cropped masks."""
from __future__ import annotations

import numpy as np
import pytest

from segdet.data.transforms.crop import RandomCrop


def _sample() -> dict:
    img = np.zeros((40, 40, 3), np.uint8)
    masks = np.zeros((2, 40, 40), np.uint8)
    masks[0, 5:15, 8:20] = 1  # an L shape
    masks[0, 5:30, 8:10] = 1
    masks[1, 25:35, 30:38] = 1
    # loose annotated boxes (2 px wider than the masks) so recomputing is visible
    boxes = np.array([[6, 5, 22, 30], [28, 25, 40, 35]], np.float32)
    return {"img": img, "img_shape": img.shape, "gt_bboxes": boxes, "gt_labels": np.array([0, 1]),
            "gt_masks": masks, "bbox_fields": ["gt_bboxes"], "mask_fields": ["gt_masks"], "img_fields": ["img"]}


@pytest.fixture
def fixed_window(monkeypatch: pytest.MonkeyPatch) -> None:
    # window rows 10..29, all columns
    monkeypatch.setattr(RandomCrop, "_window", lambda self, results: (10, 0, 20, 40))


def test_recompute_bbox_known_window(fixed_window: None) -> None:
    out = RandomCrop((20, 40), recompute_bbox=True)(_sample())
    np.testing.assert_array_equal(out["gt_bboxes"], [[8, 0, 20, 20], [30, 15, 38, 20]])
    assert out["gt_bboxes"].dtype == np.float32
    plain = RandomCrop((20, 40))(_sample())
    np.testing.assert_array_equal(plain["gt_bboxes"], [[6, 0, 22, 20], [28, 15, 40, 20]])


def test_recompute_bbox_empty_mask_gives_zero_box(fixed_window: None) -> None:
    sample = _sample()
    sample["gt_masks"][1] = 0
    sample["gt_masks"][1, 0:5, 30:38] = 1  # mask above the window while its box reaches into it
    out = RandomCrop((20, 40), recompute_bbox=True)(sample)
    np.testing.assert_array_equal(out["gt_bboxes"][1], [0, 0, 0, 0])


def test_recompute_bbox_random_windows_match_masks() -> None:
    np.random.seed(0)
    for _ in range(20):
        out = RandomCrop((24, 24), recompute_bbox=True, allow_negative_crop=True)(_sample())
        assert len(out["gt_bboxes"]) == len(out["gt_masks"])
        for box, mask in zip(out["gt_bboxes"], out["gt_masks"]):
            ys, xs = np.nonzero(mask)
            want = [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1] if len(xs) else [0, 0, 0, 0]
            np.testing.assert_array_equal(box, want)
