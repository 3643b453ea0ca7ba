"""CustomDataset on a tiny generated folder: indexing, splits, samples, evaluation."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from segdet.data.datasets.seg_custom import CustomDataset
from segdet.errors import ConfigError, DataFileNotFoundError

CLASSES = ("background", "circle", "square")


def _make(root: Path) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    labels = []
    for name in ("b", "a", "sub/c"):
        (root / "img" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "ann" / name).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(root / "img" / f"{name}.png"), rng.integers(0, 255, (12, 10, 3), dtype=np.uint8))
        label = rng.integers(0, 3, (12, 10)).astype(np.uint8)
        label[0, 0] = 255
        cv2.imwrite(str(root / "ann" / f"{name}_seg.png"), label)
        labels.append(label)
    (root / "img" / "notes.txt").write_text("not an image")
    return labels


def _load(results: dict[str, Any]) -> dict[str, Any]:
    path = Path(results["img_prefix"]) / results["img_info"]["filename"]
    results["img"] = cv2.imread(str(path))
    if "ann_info" in results:
        results["gt_semantic_seg"] = cv2.imread(str(Path(results["seg_prefix"]) / results["ann_info"]["seg_map"]),
                                                cv2.IMREAD_UNCHANGED)
        results["seg_fields"].append("gt_semantic_seg")
    return results


def _dataset(root: Path, **kw: Any) -> CustomDataset:
    args: dict[str, Any] = {"pipeline": [_load], "img_dir": "img", "ann_dir": "ann", "img_suffix": ".png",
                            "seg_map_suffix": "_seg.png", "data_root": str(root), "classes": CLASSES}
    args.update(kw)
    return CustomDataset(**args)


def test_index_samples_and_order(tmp_path: Path) -> None:
    _make(tmp_path)
    ds = _dataset(tmp_path)
    assert len(ds) == 3
    assert [i["filename"] for i in ds.img_infos] == ["a.png", "b.png", "sub/c.png"]
    assert ds.img_infos[2]["ann"]["seg_map"] == "sub/c_seg.png"
    sample = ds[0]
    assert sample["img"].shape == (12, 10, 3) and sample["gt_semantic_seg"].shape == (12, 10)
    assert sample["seg_fields"] == ["gt_semantic_seg"]
    assert ds.CLASSES == CLASSES and len(ds.PALETTE) == 3
    test = _dataset(tmp_path, test_mode=True)
    assert "gt_semantic_seg" not in test[0] and "ann_info" not in test[0]


def test_split_file(tmp_path: Path) -> None:
    _make(tmp_path)
    (tmp_path / "val.txt").write_text("sub/c\nb\n")
    ds = _dataset(tmp_path, split="val.txt")
    assert [i["filename"] for i in ds.img_infos] == ["sub/c.png", "b.png"]


def test_evaluate_perfect_and_wrong(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    labels = _make(tmp_path)
    ds = _dataset(tmp_path)
    order = [1, 0, 2]  # a, b, sub/c
    perfect = [np.where(labels[i] == 255, 0, labels[i]) for i in order]
    r = ds.evaluate(perfect, metric=["mIoU", "mDice"])
    assert r["mIoU"] == pytest.approx(1.0) and r["mDice"] == pytest.approx(1.0) and r["aAcc"] == 1.0
    assert r["IoU.circle"] == pytest.approx(1.0)
    out = capsys.readouterr().out
    assert "circle" in out and "square" in out and "mIoU" in out
    zeros = [np.zeros_like(p) for p in perfect]
    r = ds.evaluate(zeros, logger="silent")
    assert r["IoU.circle"] == 0.0 and 0 < r["IoU.background"] < 1
    with pytest.raises(ValueError, match="results"):
        ds.evaluate(zeros[:2], logger="silent")
    with pytest.raises(ConfigError, match="unknown options"):
        ds.evaluate(zeros, logger="silent", interval=5)


def test_class_subset_remaps_labels(tmp_path: Path) -> None:
    _make(tmp_path)

    class Three(CustomDataset):
        CLASSES = CLASSES

    ds = Three(pipeline=[_load], img_dir="img", ann_dir="ann", img_suffix=".png", seg_map_suffix="_seg.png",
               data_root=str(tmp_path), classes=("square", "background"))
    assert ds.label_map == {0: 1, 1: -1, 2: 0}
    assert ds[0]["label_map"] == ds.label_map
    with pytest.raises(ConfigError, match="triangle"):
        Three(pipeline=[], img_dir="img", data_root=str(tmp_path), img_suffix=".png", classes=("triangle",))


def test_missing_folder_is_reported(tmp_path: Path) -> None:
    with pytest.raises(DataFileNotFoundError, match="img_dir"):
        CustomDataset(pipeline=[], img_dir="nowhere", data_root=str(tmp_path))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataFileNotFoundError, match="no"):
        CustomDataset(pipeline=[], img_dir="empty", data_root=str(tmp_path))
