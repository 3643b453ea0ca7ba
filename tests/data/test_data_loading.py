"""LoadImageFromFile and LoadAnnotations (polygons, RLE, seg maps, reduce_zero_label)."""
from __future__ import annotations

import copy
from pathlib import Path

import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils

from segdet.data.transforms.loading import LoadAnnotations, LoadImageFromFile
from segdet.errors import DataError, DataFileNotFoundError, SegdetError


def test_load_grayscale_png_gives_three_channels(tmp_path: Path) -> None:
    gray = np.arange(12 * 10, dtype=np.uint8).reshape(12, 10)
    cv2.imwrite(str(tmp_path / "g.png"), gray)
    res = LoadImageFromFile()(dict(img_prefix=str(tmp_path), img_info=dict(filename="g.png")))
    assert res["img"].shape == (12, 10, 3) and res["img"].dtype == np.uint8
    for c in range(3):
        np.testing.assert_array_equal(res["img"][..., c], gray)
    assert res["filename"] == str(tmp_path / "g.png") and res["ori_filename"] == "g.png"
    assert res["img_shape"] == res["ori_shape"] == (12, 10, 3) and res["img_fields"] == ["img"]


def test_load_color_bgr_rgb_and_float(tmp_path: Path) -> None:
    img = np.zeros((4, 5, 3), np.uint8)
    img[..., 0] = 10  # blue
    img[..., 2] = 200  # red
    cv2.imwrite(str(tmp_path / "c.png"), img)
    info = dict(filename=str(tmp_path / "c.png"))
    assert LoadImageFromFile()(dict(img_info=info))["img"][0, 0].tolist() == [10, 0, 200]
    assert LoadImageFromFile(channel_order="rgb")(dict(img_info=info))["img"][0, 0].tolist() == [200, 0, 10]
    out = LoadImageFromFile(to_float32=True)(dict(img_info=info))["img"]
    assert out.dtype == np.float32
    assert LoadImageFromFile(color_type="grayscale")(dict(img_info=info))["img"].ndim == 2


def test_missing_image_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(DataFileNotFoundError, match="nope.jpg") as err:
        LoadImageFromFile()(dict(img_prefix=str(tmp_path), img_info=dict(filename="nope.jpg")))
    assert str(tmp_path) in str(err.value) and isinstance(err.value, SegdetError)
    (tmp_path / "broken.jpg").write_bytes(b"not an image")
    with pytest.raises(DataError, match="cannot be decoded"):  # present but corrupt: not "not found"
        LoadImageFromFile()(dict(img_prefix=str(tmp_path), img_info=dict(filename="broken.jpg")))


def test_bad_color_type() -> None:
    with pytest.raises(ValueError, match="color_type"):
        LoadImageFromFile(color_type="cmyk")


def _ann_results(h: int, w: int, **ann: object) -> dict:
    base = dict(bboxes=np.array([[1, 1, 5, 4]], np.float32), labels=np.array([1]),
                bboxes_ignore=np.zeros((0, 4), np.float32))
    base.update(ann)
    return dict(img_info=dict(height=h, width=w, filename="x.png"), ann_info=base)


def test_load_boxes_and_labels() -> None:
    res = LoadAnnotations()(_ann_results(8, 10))
    assert res["gt_bboxes"].dtype == np.float32 and res["gt_bboxes"].shape == (1, 4)
    assert res["gt_labels"].dtype == np.int64 and res["gt_labels"].tolist() == [1]
    assert res["bbox_fields"] == ["gt_bboxes", "gt_bboxes_ignore"]
    assert "gt_masks" not in res and "gt_semantic_seg" not in res


def test_masks_from_polygons_and_rle() -> None:
    h, w = 8, 10
    square = [[2.0, 1.0, 6.0, 1.0, 6.0, 5.0, 2.0, 5.0]]  # polygon of a 4x4 square at x 2..6, y 1..5
    bitmap = np.zeros((h, w), np.uint8)
    bitmap[3:7, 0:3] = 1
    rle = mask_utils.encode(np.asfortranarray(bitmap))
    uncompressed = dict(size=[h, w], counts=_uncompressed_counts(bitmap))
    res = LoadAnnotations(with_mask=True)(_ann_results(
        h, w, bboxes=np.zeros((3, 4), np.float32), labels=np.zeros(3), masks=[square, rle, uncompressed]))
    masks = res["gt_masks"]
    assert masks.shape == (3, h, w) and masks.dtype == np.uint8 and res["mask_fields"] == ["gt_masks"]
    ys, xs = np.nonzero(masks[0])
    # pycocotools rasterises the 4x4 square as pixels x 2..5, y 1..4
    assert (xs.min(), ys.min(), xs.max(), ys.max()) == (2, 1, 5, 4) and masks[0].sum() == 16
    np.testing.assert_array_equal(masks[1], bitmap)
    np.testing.assert_array_equal(masks[2], bitmap)


def _uncompressed_counts(bitmap: np.ndarray) -> list[int]:
    flat = bitmap.flatten(order="F")
    counts, cur, run = [], 0, 0
    for v in flat:
        if v != cur:
            counts.append(run)
            cur, run = v, 0
        run += 1
    counts.append(run)
    return counts


def test_no_masks_gives_empty_stack() -> None:
    res = LoadAnnotations(with_mask=True)(_ann_results(4, 6, bboxes=np.zeros((0, 4)), labels=[], masks=[]))
    assert res["gt_masks"].shape == (0, 4, 6)


def _write_seg(tmp_path: Path) -> np.ndarray:
    seg = np.array([[0, 1, 2], [3, 255, 0]], np.uint8)
    cv2.imwrite(str(tmp_path / "s.png"), seg)
    return seg


def test_seg_map_and_reduce_zero_label(tmp_path: Path) -> None:
    seg = _write_seg(tmp_path)
    res = _ann_results(2, 3, seg_map="s.png")
    res["seg_prefix"] = str(tmp_path)
    out = LoadAnnotations(with_seg=True)(res)
    np.testing.assert_array_equal(out["gt_semantic_seg"], seg)
    assert out["seg_fields"] == ["gt_semantic_seg"]
    res = _ann_results(2, 3, seg_map="s.png")
    res["seg_prefix"] = str(tmp_path)
    out = LoadAnnotations(with_seg=True, reduce_zero_label=True)(res)
    np.testing.assert_array_equal(out["gt_semantic_seg"], [[255, 0, 1], [2, 255, 255]])
    assert out["gt_semantic_seg"].dtype == np.uint8


def test_seg_only_annotations_and_label_map(tmp_path: Path) -> None:
    _write_seg(tmp_path)
    res = dict(img_info=dict(filename="x.png"), ann_info=dict(seg_map="s.png"), seg_prefix=str(tmp_path),
               label_map={1: 2, 2: 1})
    out = LoadAnnotations()(res)  # MMSegmentation data: no boxes, only the map
    assert "gt_bboxes" not in out
    np.testing.assert_array_equal(out["gt_semantic_seg"], [[0, 2, 1], [3, 255, 0]])


def test_missing_seg_map_names_the_path(tmp_path: Path) -> None:
    res = _ann_results(2, 3, seg_map="gone.png")
    res["seg_prefix"] = str(tmp_path)
    with pytest.raises(DataFileNotFoundError, match="gone.png"):
        LoadAnnotations(with_seg=True)(res)


def test_json_rle_string_counts_and_poly2mask_false_give_the_same_bitmaps() -> None:
    h, w = 8, 10
    bitmap = np.zeros((h, w), np.uint8)
    bitmap[2:5, 4:9] = 1
    rle = mask_utils.encode(np.asfortranarray(bitmap))
    as_json = dict(size=rle["size"], counts=rle["counts"].decode("ascii"))  # what json.load gives
    square = [[2.0, 1.0, 6.0, 1.0, 6.0, 5.0, 2.0, 5.0]]
    anns = _ann_results(h, w, bboxes=np.zeros((2, 4), np.float32), labels=np.zeros(2), masks=[as_json, square])
    on = LoadAnnotations(with_mask=True, poly2mask=True)(copy.deepcopy(anns))["gt_masks"]
    off = LoadAnnotations(with_mask=True, poly2mask=False)(anns)["gt_masks"]
    np.testing.assert_array_equal(on[0], bitmap)
    np.testing.assert_array_equal(on, off)


def test_degenerate_polygons_are_dropped() -> None:
    # a 2-point "polygon" (pycocotools would read 4 numbers as a box) and a 1-point one are
    # dropped, as MMDetection's process_polygons does; the valid triangle stays
    h, w = 8, 10
    triangle = [0.0, 0.0, 6.0, 0.0, 0.0, 6.0]
    res = LoadAnnotations(with_mask=True)(_ann_results(
        h, w, bboxes=np.zeros((2, 4), np.float32), labels=np.zeros(2),
        masks=[[[1.0, 1.0, 5.0, 5.0], triangle, [3.0, 3.0]], [[1.0, 1.0, 5.0, 5.0]]]))
    masks = res["gt_masks"]
    alone = LoadAnnotations(with_mask=True)(_ann_results(
        h, w, bboxes=np.zeros((1, 4), np.float32), labels=np.zeros(1), masks=[[triangle]]))["gt_masks"]
    np.testing.assert_array_equal(masks[0], alone[0])
    assert 10 < masks[0].sum() < 36 and masks[1].sum() == 0


def test_mask_errors_name_the_problem() -> None:
    with pytest.raises(ValueError, match="RLE 'size'"):
        LoadAnnotations(with_mask=True)(_ann_results(4, 6, masks=[dict(size=[6, 4], counts=[24])]))
    with pytest.raises(ValueError, match="no 'segmentation'"):
        LoadAnnotations(with_mask=True)(_ann_results(4, 6, masks=[None]))
    with pytest.raises(KeyError, match="with_mask=False"):
        LoadAnnotations(with_mask=True)(_ann_results(4, 6))
    with pytest.raises(ValueError, match="2 masks for 1 boxes"):
        LoadAnnotations(with_mask=True)(_ann_results(4, 6, masks=[[], []]))
    img = np.zeros((5, 6, 3), np.uint8)
    with pytest.raises(ValueError, match="annotation says 6x4"):
        LoadAnnotations(with_mask=True)({**_ann_results(4, 6, masks=[[]]), "img": img})
