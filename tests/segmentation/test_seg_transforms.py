"""RandomRotate and SegRescale keep label maps aligned with the image and label-valued."""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from segdet.data.transforms.rotate import RandomRotate
from segdet.data.transforms.seg_rescale import SegRescale


def _sample(h: int = 33, w: int = 33) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    seg = np.zeros((h, w), np.uint8)
    for label in (1, 2, 3):  # blocks of labels; the image encodes the label as its intensity
        y, x = rng.integers(0, h - 10), rng.integers(0, w - 10)
        seg[y:y + 10, x:x + 10] = label
    img = np.repeat((seg * 60 + 20)[..., None], 3, axis=2).astype(np.uint8)
    return {"img": img, "gt_semantic_seg": seg, "seg_fields": ["gt_semantic_seg"], "img_shape": img.shape}


def test_rotate_90_is_exact_and_clockwise() -> None:
    s = _sample()
    img, seg = s["img"].copy(), s["gt_semantic_seg"].copy()
    out = RandomRotate(prob=1.0, degree=(90, 90))(s)
    assert np.array_equal(out["gt_semantic_seg"], np.rot90(seg, k=-1))
    assert np.array_equal(out["img"], np.rot90(img, k=-1))
    assert out["rotate_degree"] == 90


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_rotation_keeps_map_aligned(seed: int) -> None:
    np.random.seed(seed)
    s = _sample(48, 40)
    out = RandomRotate(prob=1.0, degree=30, pad_val=0, seg_pad_val=255)(s)
    seg, img = out["gt_semantic_seg"], out["img"]
    assert set(np.unique(seg)) <= {0, 1, 2, 3, 255}  # nearest: no blended labels
    inside = seg != 255
    expected = seg[inside].astype(int) * 60 + 20
    agree = np.abs(img[..., 0][inside].astype(int) - expected) <= 1
    assert agree.mean() > 0.9  # only pixels on label borders may differ
    assert img[~inside].mean() < 10  # padded (0) where the label map is padded, but for blended edges


def test_rotate_probability_zero_and_auto_bound() -> None:
    s = _sample(20, 30)
    before = s["gt_semantic_seg"].copy()
    assert np.array_equal(RandomRotate(prob=0.0, degree=45)(s)["gt_semantic_seg"], before)
    out = RandomRotate(prob=1.0, degree=(90, 90), auto_bound=True)(_sample(20, 30))
    assert out["gt_semantic_seg"].shape == (30, 20) and out["img_shape"][:2] == (30, 20)
    with pytest.raises(ValueError, match="positive"):
        RandomRotate(prob=0.5, degree=-3)


def test_seg_rescale_nearest() -> None:
    seg = np.kron(np.array([[1, 2], [3, 0]], np.uint8), np.ones((4, 3), np.uint8))  # 8x6, 4x3 blocks
    out = SegRescale(scale_factor=0.5)({"gt_semantic_seg": seg, "seg_fields": ["gt_semantic_seg"]})
    assert out["gt_semantic_seg"].shape == (4, 3)
    assert set(np.unique(out["gt_semantic_seg"])) <= {0, 1, 2, 3}
    assert out["gt_semantic_seg"][0, 0] == 1 and out["gt_semantic_seg"][-1, 0] == 3
    same = SegRescale()({"gt_semantic_seg": seg, "seg_fields": ["gt_semantic_seg"]})
    assert same["gt_semantic_seg"] is seg
