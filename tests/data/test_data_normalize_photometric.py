"""Normalize against the numpy formula; PhotoMetricDistortion and AutoAugment behaviour."""
from __future__ import annotations

import numpy as np
import pytest

from segdet.data.transforms.auto_augment import AutoAugment
from segdet.data.transforms.normalize import Normalize
from segdet.data.transforms.photometric import PhotoMetricDistortion

MEAN, STD = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]


def _img(h: int = 5, w: int = 7, dtype: type = np.uint8) -> np.ndarray:
    return np.random.default_rng(1).integers(0, 256, (h, w, 3)).astype(dtype)


@pytest.mark.parametrize("to_rgb", [True, False])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_normalize_matches_numpy(to_rgb: bool, dtype: type) -> None:
    img = _img(dtype=dtype)
    res = Normalize(MEAN, STD, to_rgb=to_rgb)(dict(img=img.copy(), img_fields=["img"]))
    src = img[..., ::-1] if to_rgb else img
    expected = (src.astype(np.float64) - np.array(MEAN)) / np.array(STD)
    assert res["img"].dtype == np.float32 and res["img"].shape == img.shape
    np.testing.assert_allclose(res["img"], expected, rtol=1e-5, atol=1e-5)
    cfg = res["img_norm_cfg"]
    np.testing.assert_allclose(cfg["mean"], MEAN) and np.testing.assert_allclose(cfg["std"], STD)
    assert cfg["to_rgb"] is to_rgb


def test_normalize_does_not_touch_the_input_array() -> None:
    img = _img(dtype=np.float32)
    keep = img.copy()
    Normalize(MEAN, STD)(dict(img=img, img_fields=["img"]))
    np.testing.assert_array_equal(img, keep)


def test_photometric_shape_dtype_range_and_seed() -> None:
    img = _img(32, 48)
    outs = []
    for _ in range(2):
        np.random.seed(3)
        outs.append([PhotoMetricDistortion()(dict(img=img.copy()))["img"] for _ in range(10)])
    for a, b in zip(*outs):
        np.testing.assert_array_equal(a, b)  # same seed, same output
        assert a.shape == img.shape and a.dtype == np.float32 and np.isfinite(a).all()
        # brightness +-32 and contrast x1.5 bound V by 287 * 1.5 (times 1.5 if contrast comes last);
        # saturation x1.5 can push the smallest channel to V * (1 - 1.5), as in MMDetection (no clip)
        bound = 287 * 1.5 * 1.5
        assert -bound / 2 - 1 <= a.min() and a.max() <= bound + 1
    assert any(not np.allclose(a, img) for a in outs[0])


def test_photometric_identity_when_every_coin_is_tails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(np.random, "randint", lambda *a, **k: 0)
    img = _img(16, 16)
    out = PhotoMetricDistortion()(dict(img=img.copy()))["img"]
    np.testing.assert_allclose(out, img, atol=1e-3)  # only the HSV round trip happens


def test_photometric_hue_shift_in_degrees(monkeypatch: pytest.MonkeyPatch) -> None:
    # coins: brightness no, mode 0, saturation no, hue yes, contrast no, permutation no
    coins = iter([0, 0, 0, 1, 0, 0])
    monkeypatch.setattr(np.random, "randint", lambda *a, **k: next(coins))
    monkeypatch.setattr(np.random, "uniform", lambda lo, hi: 120.0)
    img = np.zeros((2, 2, 3), np.float32)
    img[..., 2] = 200.0  # pure red (BGR), hue 0
    out = PhotoMetricDistortion(hue_delta=120)(dict(img=img))["img"]
    np.testing.assert_allclose(out[0, 0], [0, 200, 0], atol=1e-3)  # +120 degrees: pure green


def test_autoaugment_picks_one_policy() -> None:
    policies = [[dict(type="Resize", img_scale=(8, 8), keep_ratio=False)],
                [dict(type="RandomFlip", flip_ratio=1.0)]]
    t = AutoAugment(policies)
    np.random.seed(0)
    seen = set()
    for _ in range(20):
        res = t(dict(img=_img(4, 6), img_shape=(4, 6, 3), img_fields=["img"]))
        resized, flipped = res["img"].shape[:2] == (8, 8), res.get("flip", False)
        assert resized != flipped  # exactly one policy ran
        seen.add("resize" if resized else "flip")
    assert seen == {"resize", "flip"}


def test_autoaugment_rejects_empty_policies() -> None:
    with pytest.raises(ValueError, match="policies"):
        AutoAugment([])
    with pytest.raises(ValueError, match="policies"):
        AutoAugment([[]])


def test_normalize_non_contiguous_and_other_channel_counts() -> None:
    img = _img(6, 8)[:, ::2]  # a strided view
    out = Normalize(MEAN, STD)(dict(img=img, img_fields=["img"]))["img"]
    np.testing.assert_allclose(out, (img[..., ::-1] - np.array(MEAN)) / np.array(STD), rtol=1e-5, atol=1e-5)
    four = np.random.default_rng(2).integers(0, 256, (3, 4, 4)).astype(np.uint8)
    out = Normalize([1, 2, 3, 4], [2, 2, 2, 2], to_rgb=False)(dict(img=four, img_fields=["img"]))["img"]
    np.testing.assert_allclose(out, (four - np.array([1, 2, 3, 4])) / 2, rtol=1e-6)
