"""CocoDataset on the shapes set: lengths, filtering, classes, annotations, errors, results json."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from segdet.data.datasets.coco import CocoDataset
from segdet.data.shapes import SHAPE_CLASSES, make_shapes
from segdet.errors import DataFileNotFoundError

TRAIN_PIPELINE = [
    dict(type="LoadImageFromFile"),
    dict(type="LoadAnnotations", with_bbox=True, with_mask=True, with_seg=True),
    dict(type="Resize", img_scale=(64, 64), keep_ratio=True),
    dict(type="RandomFlip", flip_ratio=0.5),
    dict(type="Normalize", mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True),
    dict(type="Pad", size_divisor=32),
    dict(type="DefaultFormatBundle"),
    dict(type="Collect", keys=["img", "gt_bboxes", "gt_labels", "gt_masks", "gt_semantic_seg"]),
]


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("shapes")
    make_shapes(root, seed=0, num_train=8, num_val=4)
    return root


def _dataset(root: Path, split: str = "train", **kwargs: object) -> CocoDataset:
    args: dict = dict(ann_file=f"annotations/instances_{split}.json", pipeline=TRAIN_PIPELINE, data_root=str(root),
                      img_prefix=f"images/{split}", seg_prefix=f"semantic/{split}", classes=SHAPE_CLASSES)
    args.update(kwargs)
    return CocoDataset(**args)


def _json(root: Path, split: str = "train") -> dict:
    return json.loads((root / "annotations" / f"instances_{split}.json").read_text())


def test_lengths_and_sample(shapes: Path) -> None:
    ds = _dataset(shapes)
    assert len(ds) == 8 and ds.CLASSES == SHAPE_CLASSES
    assert len(_dataset(shapes, "val", test_mode=True)) == 4
    np.random.seed(0)
    s = ds[0]
    assert s["img"].shape == (3, 64, 64) and s["img"].dtype == torch.float32
    k = len(s["gt_labels"])
    assert s["gt_bboxes"].shape == (k, 4) and s["gt_masks"].shape == (k, 64, 64)
    assert s["gt_semantic_seg"].shape == (1, 64, 64)
    assert s["img_metas"]["ori_shape"] == (128, 128, 3) and s["img_metas"]["img_shape"] == (64, 64, 3)
    assert set(s["gt_labels"].tolist()) <= {0, 1, 2}


def test_filter_empty_gt(tmp_path: Path, shapes: Path) -> None:
    coco = _json(shapes)
    drop = coco["images"][0]["id"]
    coco["annotations"] = [a for a in coco["annotations"] if a["image_id"] != drop]
    ann_file = tmp_path / "no_first.json"
    ann_file.write_text(json.dumps(coco))
    assert len(_dataset(shapes, ann_file=str(ann_file))) == 7
    assert len(_dataset(shapes, ann_file=str(ann_file), filter_empty_gt=False)) == 8
    assert len(_dataset(shapes, ann_file=str(ann_file), test_mode=True)) == 8


def test_classes_subset(shapes: Path) -> None:
    coco = _json(shapes)
    ds = _dataset(shapes, classes=("triangle", "circle"))
    assert ds.CLASSES == ("triangle", "circle")
    with_kept = {a["image_id"] for a in coco["annotations"] if a["category_id"] in (1, 3)}
    assert len(ds) == len(with_kept)
    for i in range(len(ds)):
        ann = ds.get_ann_info(i)
        expected = [{3: 0, 1: 1}[a["category_id"]] for a in coco["annotations"]
                    if a["image_id"] == ds.img_ids[i] and a["category_id"] in (1, 3)]
        assert ann["labels"].tolist() == expected


def test_classes_from_a_file(tmp_path: Path, shapes: Path) -> None:
    names = tmp_path / "classes.txt"
    names.write_text("square\n\ncircle\n")
    assert _dataset(shapes, classes=str(names)).CLASSES == ("square", "circle")
    with pytest.raises(DataFileNotFoundError, match="classes"):
        _dataset(shapes, classes=str(tmp_path / "none.txt"))


def test_renamed_classes_follow_category_ids(shapes: Path) -> None:
    ds = _dataset(shapes, classes=("a", "b", "c"))
    assert ds.CLASSES == ("a", "b", "c") and ds.cat_ids == [1, 2, 3]
    with pytest.raises(ValueError, match=r"'hexagon'.*classes"):
        _dataset(shapes, classes=("circle", "hexagon"))
    with pytest.raises(ValueError, match="classes"):
        _dataset(shapes, classes=("a", "b"))  # renaming needs one name per category


def test_get_ann_info_vs_json(shapes: Path) -> None:
    ds = _dataset(shapes)
    coco = _json(shapes)
    for i in range(len(ds)):
        anns = [a for a in coco["annotations"] if a["image_id"] == ds.img_ids[i]]
        info = ds.get_ann_info(i)
        expected = np.array([[x, y, x + w, y + h] for x, y, w, h in (a["bbox"] for a in anns)], np.float32)
        np.testing.assert_array_equal(info["bboxes"], expected.reshape(-1, 4))
        assert info["bboxes"].dtype == np.float32 and info["labels"].dtype == np.int64
        assert info["labels"].tolist() == [a["category_id"] - 1 for a in anns]
        assert info["masks"] == [a["segmentation"] for a in anns]
        assert info["bboxes_ignore"].shape == (0, 4)
        assert info["seg_map"] == ds.data_infos[i]["filename"]  # shapes stores PNGs under the same name


def test_crowd_and_degenerate_annotations(tmp_path: Path, shapes: Path) -> None:
    coco = _json(shapes)
    first = coco["images"][0]["id"]
    anns = [a for a in coco["annotations"] if a["image_id"] == first]
    anns[0]["iscrowd"] = 1
    extra = dict(anns[0], id=10_000, iscrowd=0, bbox=[5, 5, 0.5, 10])  # narrower than 1 px: dropped
    outside = dict(anns[0], id=10_001, iscrowd=0, bbox=[200, 5, 10, 10])  # outside the image: dropped
    coco["annotations"] += [extra, outside]
    ann_file = tmp_path / "crowd.json"
    ann_file.write_text(json.dumps(coco))
    info = _dataset(shapes, ann_file=str(ann_file)).get_ann_info(0)
    x, y, w, h = anns[0]["bbox"]
    np.testing.assert_array_equal(info["bboxes_ignore"], [[x, y, x + w, y + h]])
    assert len(info["bboxes"]) == len(anns) - 1 == len(info["labels"]) == len(info["masks"])


def test_missing_ann_file_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(DataFileNotFoundError, match="'ann_file'") as err:
        CocoDataset(ann_file=str(tmp_path / "missing.json"), pipeline=[])
    assert "missing.json" in str(err.value)
    with pytest.raises(DataFileNotFoundError, match="segdet data shapes"):
        CocoDataset(ann_file=str(tmp_path / "shapes" / "x.json"), pipeline=[])


def test_missing_img_prefix_names_the_key(shapes: Path) -> None:
    with pytest.raises(DataFileNotFoundError, match="'img_prefix'"):
        _dataset(shapes, img_prefix="images/nowhere")


def test_format_results_json(tmp_path: Path, shapes: Path) -> None:
    ds = _dataset(shapes, "val", test_mode=True, classes=("square", "circle", "triangle"))
    results = [dict(bboxes=torch.tensor([[1.0, 2.0, 11.0, 22.0]]), scores=torch.tensor([0.5]),
                    labels=torch.tensor([1])) for _ in range(len(ds))]
    results[1] = dict(bboxes=torch.zeros(0, 4), scores=torch.zeros(0), labels=torch.zeros(0, dtype=torch.long))
    out = ds.format_results(results, str(tmp_path / "dets.json"))
    dets = json.loads(Path(out).read_text())
    assert len(dets) == len(ds) - 1
    assert dets[0] == dict(image_id=ds.img_ids[0], category_id=1, bbox=[1.0, 2.0, 10.0, 20.0], score=0.5)
    with pytest.raises(ValueError, match="results"):
        ds.format_results(results[:1], str(tmp_path / "short.json"))


def test_test_mode_sample_is_lists(shapes: Path) -> None:
    pipeline = [dict(type="LoadImageFromFile"),
                dict(type="MultiScaleFlipAug", img_scale=(64, 64), flip=True,
                     transforms=[dict(type="Resize", keep_ratio=True), dict(type="RandomFlip"),
                                 dict(type="Normalize", mean=[0, 0, 0], std=[1, 1, 1]),
                                 dict(type="Pad", size_divisor=32), dict(type="ImageToTensor", keys=["img"]),
                                 dict(type="Collect", keys=["img"])])]
    s = _dataset(shapes, "val", test_mode=True, pipeline=pipeline)[0]
    assert len(s["img"]) == 2 and [m["flip"] for m in s["img_metas"]] == [False, True]
