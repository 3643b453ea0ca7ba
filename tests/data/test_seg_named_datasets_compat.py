"""ADE20KDataset, CityscapesDataset, PascalVOCDataset (MMSegmentation 0.x) on tiny data in each layout."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from segdet import Config
from segdet.data.builder import build_dataset
from segdet.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
SMALL_PIPELINE = [dict(type="LoadImageFromFile"), dict(type="LoadAnnotations"),
                  dict(type="DefaultFormatBundle"), dict(type="Collect", keys=["img", "gt_semantic_seg"])]


def _image(path: Path, seed: int, h: int = 24, w: int = 32) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.random.default_rng(seed).integers(0, 255, (h, w, 3), dtype=np.uint8))


def _label(path: Path, values: np.ndarray, palette: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if palette:  # as VOC ships them: a "P" image whose values are the class indices
        img = Image.fromarray(values.astype(np.uint8), mode="P")
        colours = [0] * 768
        colours[3:6], colours[45:48], colours[765:768] = [128, 0, 0], [192, 128, 128], [224, 224, 192]
        img.putpalette(colours)
        img.save(path)
    else:
        cv2.imwrite(str(path), values.astype(np.uint8))


def _labels(seed: int, high: int, h: int = 24, w: int = 32) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, high, (h, w)).astype(np.uint8)


def _shipped(name: str, data_root: Path, split: str = "train") -> dict:
    cfg = Config.fromfile(str(ROOT / "configs" / "_base_" / "datasets" / f"{name}.py"))
    entry = dict(cfg["data"][split])
    entry["data_root"] = str(data_root)
    entry["pipeline"] = [dict(step) for step in SMALL_PIPELINE]
    return entry


def test_ade20k_layout_classes_palette_and_reduce_zero_label(tmp_path):
    root = tmp_path / "ADEChallengeData2016"
    maps = {}
    for i in (1, 2):
        _image(root / "images" / "training" / f"ADE_train_0000000{i}.jpg", i)
        maps[i] = _labels(i, 151)
        _label(root / "annotations" / "training" / f"ADE_train_0000000{i}.png", maps[i])
    (root / "images" / "training" / "notes.txt").write_text("not an image")
    entry = _shipped("ade20k", root)
    assert entry["type"] == "ADE20KDataset" and "classes" not in entry
    entry["pipeline"][1] = dict(type="LoadAnnotations", reduce_zero_label=True)  # as the shipped pipeline
    ds = build_dataset(entry)
    assert type(ds).__name__ == "ADE20KDataset" and len(ds) == 2
    assert (ds.img_suffix, ds.seg_map_suffix, ds.reduce_zero_label) == (".jpg", ".png", True)
    assert len(ds.CLASSES) == 150 and ds.CLASSES[:3] == ("wall", "building", "sky") and ds.CLASSES[7] == "bed "
    assert ds.CLASSES[-1] == "flag" and len(ds.PALETTE) == 150
    assert [tuple(ds.PALETTE[i]) for i in (0, 7, 48, 66, 149)] == \
        [(120, 120, 120), (204, 5, 255), (140, 140, 140), (255, 0, 0), (92, 0, 255)]
    sample = ds[0]
    seg = sample["gt_semantic_seg"].numpy().reshape(24, 32)
    expected = maps[1].astype(np.int64) - 1
    expected[maps[1] == 0] = 255
    assert np.array_equal(seg, expected)
    # the metric reduces the raw maps the same way: predicting the reduced labels is perfect
    preds = []
    for i in (1, 2):
        p = maps[i].astype(np.int64) - 1
        p[maps[i] == 0] = 0
        preds.append(torch.from_numpy(p))
    out = ds.evaluate(preds, metric="mIoU", logger="silent")
    assert out["aAcc"] == pytest.approx(1.0)


def test_cityscapes_layout_walks_cities_and_keeps_suffixes(tmp_path):
    root = tmp_path / "cityscapes"
    names = ["aachen/aachen_000000_000019", "bremen/bremen_000001_000019"]
    for i, name in enumerate(names):
        _image(root / "leftImg8bit" / "train" / f"{name}_leftImg8bit.png", i)
        train_ids = _labels(i, 20)
        _label(root / "gtFine" / "train" / f"{name}_gtFine_labelTrainIds.png", np.where(train_ids == 19, 255, train_ids))
        _label(root / "gtFine" / "train" / f"{name}_gtFine_labelIds.png", _labels(i + 5, 34))  # not read
    entry = _shipped("cityscapes", root)
    assert entry["type"] == "CityscapesDataset" and "img_suffix" not in entry
    ds = build_dataset(entry)
    assert len(ds) == 2 and len(ds.CLASSES) == 19 and ds.CLASSES[0] == "road" and ds.CLASSES[-1] == "bicycle"
    assert tuple(ds.PALETTE[0]) == (128, 64, 128) and tuple(ds.PALETTE[-1]) == (119, 11, 32)
    assert [info["filename"] for info in ds.img_infos] == [f"{n}_leftImg8bit.png" for n in names]
    assert ds.img_infos[1]["ann"]["seg_map"] == "bremen/bremen_000001_000019_gtFine_labelTrainIds.png"
    seg = ds[1]["gt_semantic_seg"].numpy().reshape(24, 32)
    raw = _labels(1, 20)
    assert np.array_equal(seg, np.where(raw == 19, 255, raw))
    assert ds.reduce_zero_label is False


def test_pascal_voc_split_order_and_palette_label_maps(tmp_path):
    root = tmp_path / "VOC2012"
    maps = {}
    for i, name in enumerate(["2007_000032", "2007_000039", "2007_000063"]):
        _image(root / "JPEGImages" / f"{name}.jpg", i)
        m = _labels(i, 21)
        m[0, :] = 255  # VOC's object borders
        maps[name] = m
        _label(root / "SegmentationClass" / f"{name}.png", m, palette=True)
    split = root / "ImageSets" / "Segmentation" / "train.txt"
    split.parent.mkdir(parents=True)
    split.write_text("2007_000063\n2007_000032\n")
    entry = _shipped("pascal_voc12", root)  # configs/_base_/datasets/pascal_voc12.py, data_root moved
    assert (entry["type"], entry["split"]) == ("PascalVOCDataset", "ImageSets/Segmentation/train.txt")
    ds = build_dataset(entry)
    assert [info["filename"] for info in ds.img_infos] == ["2007_000063.jpg", "2007_000032.jpg"]
    assert len(ds.CLASSES) == 21 and ds.CLASSES[0] == "background" and ds.CLASSES[15] == "person"
    assert tuple(ds.PALETTE[1]) == (128, 0, 0) and tuple(ds.PALETTE[15]) == (192, 128, 128)
    # palette PNGs are read as their indices (OpenCV alone would give colours), in training and metric
    assert np.array_equal(ds[0]["gt_semantic_seg"].numpy().reshape(24, 32), maps["2007_000063"])
    assert np.array_equal(ds.get_gt_seg_map_by_idx(1), maps["2007_000032"])
    preds = [torch.from_numpy(np.where(maps[n] == 255, 0, maps[n]).astype(np.int64))
             for n in ("2007_000063", "2007_000032")]
    assert ds.evaluate(preds, logger="silent")["aAcc"] == pytest.approx(1.0)
    del entry["split"]
    with pytest.raises(ConfigError, match="PascalVOCDataset needs split="):
        build_dataset(entry)
