"""DefaultFormatBundle, Collect, ImageToTensor and MultiScaleFlipAug."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from segdet.data.transforms.formatting import Collect, DefaultFormatBundle, ImageToTensor
from segdet.data.transforms.test_time_aug import MultiScaleFlipAug


def _results(h: int = 6, w: int = 8) -> dict:
    img = np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)
    return dict(filename="a/b.png", ori_filename="b.png", img=img, img_shape=img.shape, ori_shape=img.shape,
                img_fields=["img"], flip=False, flip_direction=None,
                gt_bboxes=np.array([[1, 2, 3, 4]], np.float64), gt_labels=[2],
                gt_masks=np.ones((1, h, w), np.uint8), gt_semantic_seg=np.full((h, w), 3, np.uint8))


def test_default_format_bundle_dtypes_and_shapes() -> None:
    res = _results()
    img = res["img"].copy()
    out = DefaultFormatBundle()(res)
    assert out["img"].dtype == torch.float32 and out["img"].shape == (3, 6, 8)
    torch.testing.assert_close(out["img"], torch.from_numpy(img.transpose(2, 0, 1).astype(np.float32)))
    assert out["img"].is_contiguous()
    assert out["gt_bboxes"].dtype == torch.float32 and out["gt_bboxes"].shape == (1, 4)
    assert out["gt_labels"].dtype == torch.int64 and out["gt_labels"].tolist() == [2]
    assert out["gt_masks"].dtype == torch.uint8 and out["gt_masks"].shape == (1, 6, 8)
    assert out["gt_semantic_seg"].dtype == torch.int64 and out["gt_semantic_seg"].shape == (1, 6, 8)
    # defaults for pipelines without Pad / Resize / Normalize
    assert out["pad_shape"] == (6, 8, 3)
    np.testing.assert_array_equal(out["scale_factor"], np.ones(4, np.float32))
    assert out["img_norm_cfg"]["to_rgb"] is False


def test_default_format_bundle_empty_boxes() -> None:
    res = _results()
    res["gt_bboxes"], res["gt_labels"] = np.zeros((0, 4), np.float32), np.zeros((0,), np.int64)
    out = DefaultFormatBundle()(res)
    assert out["gt_bboxes"].shape == (0, 4) and out["gt_labels"].shape == (0,)


def test_image_to_tensor_keeps_dtype_and_adds_channel() -> None:
    out = ImageToTensor(keys=["img", "gray"])(dict(img=np.zeros((4, 5, 3), np.uint8), gray=np.zeros((4, 5), np.float32)))
    assert out["img"].shape == (3, 4, 5) and out["img"].dtype == torch.uint8
    assert out["gray"].shape == (1, 4, 5) and out["gray"].dtype == torch.float32


def test_collect_keys_and_metas() -> None:
    res = DefaultFormatBundle()(_results())
    res["extra"] = 1
    out = Collect(keys=["img", "gt_bboxes", "gt_labels"])(res)
    assert set(out) == {"img", "gt_bboxes", "gt_labels", "img_metas"}
    metas = out["img_metas"]
    assert set(metas) == {"filename", "ori_filename", "ori_shape", "img_shape", "pad_shape", "scale_factor",
                          "flip", "flip_direction", "img_norm_cfg"}
    assert metas["filename"] == "a/b.png" and metas["flip"] is False
    out = Collect(keys=["img"], meta_keys=["filename", "not_there"])(res)
    assert out["img_metas"] == {"filename": "a/b.png"}


def test_collect_missing_key_names_it() -> None:
    with pytest.raises(KeyError, match=r"gt_semantic_seg.*LoadAnnotations"):
        Collect(keys=["img", "gt_semantic_seg"])(dict(img=np.zeros((2, 2, 3))))


def _msfa(**kwargs: object) -> MultiScaleFlipAug:
    inner = [dict(type="Resize", keep_ratio=True), dict(type="RandomFlip"),
             dict(type="Normalize", mean=[0, 0, 0], std=[1, 1, 1], to_rgb=False),
             dict(type="Pad", size_divisor=4), dict(type="ImageToTensor", keys=["img"]),
             dict(type="Collect", keys=["img"])]
    return MultiScaleFlipAug(transforms=inner, **kwargs)  # type: ignore[arg-type]


def _test_input(h: int = 10, w: int = 20) -> dict:
    img = np.zeros((h, w, 3), np.uint8)
    img[:, : w // 2] = 255  # left half white: shows the flip
    return dict(img=img, img_shape=img.shape, ori_shape=img.shape, img_fields=["img"], filename="x.png",
                ori_filename="x.png")


def test_multiscale_flip_aug_one_item_per_scale_and_flip() -> None:
    out = _msfa(img_scale=[(40, 20), (20, 10)], flip=True, flip_direction=["horizontal", "vertical"])(_test_input())
    assert set(out) == {"img", "img_metas"}
    assert len(out["img"]) == len(out["img_metas"]) == 6
    flips = [(m["flip"], m["flip_direction"]) for m in out["img_metas"]]
    assert flips == [(False, None), (True, "horizontal"), (True, "vertical")] * 2
    assert [m["img_shape"][:2] for m in out["img_metas"]] == [(20, 40)] * 3 + [(10, 20)] * 3
    assert [tuple(i.shape) for i in out["img"]] == [(3, 20, 40)] * 3 + [(3, 12, 20)] * 3
    assert out["img"][0][0, 0, 0] == 255 and out["img"][1][0, 0, 0] == 0  # horizontal flip moved the white half
    np.testing.assert_allclose(out["img_metas"][0]["scale_factor"], [2, 2, 2, 2])


def test_multiscale_flip_aug_does_not_change_the_input() -> None:
    res = _test_input()
    _msfa(img_scale=(40, 20), flip=True)(res)
    assert res["img"].shape == (10, 20, 3) and "flip" not in res and "scale" not in res


def test_multiscale_flip_aug_img_ratios_and_scale_factor() -> None:
    out = _msfa(img_scale=(40, 20), img_ratios=[0.5, 1.0])(_test_input())
    assert [m["img_shape"][:2] for m in out["img_metas"]] == [(10, 20), (20, 40)]
    out = _msfa(img_ratios=[0.5, 2.0])(_test_input())  # ratios of the original size
    assert [m["img_shape"][:2] for m in out["img_metas"]] == [(5, 10), (20, 40)]
    out = _msfa(scale_factor=[0.5, 1.5])(_test_input())
    assert [m["img_shape"][:2] for m in out["img_metas"]] == [(5, 10), (15, 30)]


def test_multiscale_flip_aug_needs_a_scale() -> None:
    with pytest.raises(ValueError, match="img_scale"):
        _msfa()


def test_default_format_bundle_float_input_and_gray() -> None:
    img = np.random.default_rng(1).random((5, 6, 3)).astype(np.float32)
    out = DefaultFormatBundle()(dict(img=img[:, ::-1]))
    torch.testing.assert_close(out["img"], torch.from_numpy(img[:, ::-1].transpose(2, 0, 1).copy()))
    gray = DefaultFormatBundle()(dict(img=np.zeros((5, 6), np.uint8)))["img"]
    assert gray.shape == (1, 5, 6) and gray.dtype == torch.float32
