"""The embedded shapes set: determinism, tight boxes, semantic map vs instances, CLI."""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils

from segdet.data.shapes import SHAPE_CLASSES, make_shapes, render_image


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path) -> None:
    make_shapes(tmp_path / "a", seed=0, num_train=4, num_val=2)
    make_shapes(tmp_path / "b", seed=0, num_train=4, num_val=2)
    make_shapes(tmp_path / "c", seed=1, num_train=4, num_val=2)
    a, b, c = _digest(tmp_path / "a"), _digest(tmp_path / "b"), _digest(tmp_path / "c")
    assert len(a) == 2 * (4 + 2) + 2 and a == b
    assert a.keys() == c.keys() and a != c


def test_layout_and_json(tmp_path: Path) -> None:
    anns = make_shapes(tmp_path, seed=0, num_train=8, num_val=4)
    assert set(anns) == {"train", "val"}
    coco = json.loads(anns["train"].read_text())
    assert [c["name"] for c in coco["categories"]] == list(SHAPE_CLASSES)
    assert len(coco["images"]) == 8 and len(json.loads(anns["val"].read_text())["images"]) == 4
    assert len({a["id"] for a in coco["annotations"]}) == len(coco["annotations"]) > 0
    for info in coco["images"]:
        assert (tmp_path / "images" / "train" / info["file_name"]).is_file()
        assert (tmp_path / "semantic" / "train" / info["file_name"]).is_file()


def _instances(seed: int) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    return render_image(np.random.default_rng(seed), 128)


@pytest.mark.parametrize("seed", range(6))
def test_semantic_map_agrees_with_instances(seed: int) -> None:
    img, semantic, instances = _instances(seed)
    assert img.shape == (128, 128, 3) and semantic.shape == (128, 128)
    assert set(np.unique(semantic)) <= {0, 1, 2, 3}
    owner = np.zeros((128, 128), np.int32)
    for inst in instances:
        m = inst["mask"].astype(bool)
        assert m.any()
        assert (semantic[m] == inst["label"] + 1).all()  # the map labels each visible instance pixel
        assert not (owner[m]).any()  # visible parts are disjoint: later shapes occlude earlier ones
        owner[m] = 1
        colours = np.unique(img[m].reshape(-1, 3), axis=0)
        assert len(colours) == 1  # one flat colour per shape: only its visible pixels are in the mask


def test_boxes_tight_and_polygons_match_masks(tmp_path: Path) -> None:
    anns = make_shapes(tmp_path, seed=0, num_train=8, num_val=0)
    coco = json.loads(anns["train"].read_text())
    for ann in coco["annotations"]:
        info = coco["images"][ann["image_id"] - 1]
        semantic = cv2.imread(str(tmp_path / "semantic" / "train" / info["file_name"]), cv2.IMREAD_UNCHANGED)
        rle = mask_utils.merge(mask_utils.frPyObjects(ann["segmentation"], info["height"], info["width"]))
        poly_mask = mask_utils.decode(rle).astype(bool)
        x, y, w, h = ann["bbox"]
        # the polygon traces pixel centres of the mask: its raster lies inside the box
        ys, xs = np.nonzero(poly_mask)
        assert x <= xs.min() and xs.max() < x + w and y <= ys.min() and ys.max() < y + h
        # the box is tight: the instance's class occupies each border row/column of the box
        inside = semantic[y:y + h, x:x + w] == ann["category_id"]
        assert inside[0].any() and inside[-1].any() and inside[:, 0].any() and inside[:, -1].any()
        assert ann["area"] <= w * h and ann["iscrowd"] == 0
        assert abs(int(poly_mask.sum()) - ann["area"]) <= 0.5 * ann["area"]


def test_small_img_size_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="img_size"):
        make_shapes(tmp_path, img_size=32)


def test_cli_writes_the_set(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("segdet")
    out = tmp_path / "shapes"
    proc = subprocess.run([str(exe), "data", "shapes", "--out", str(out), "--num-train", "3", "--num-val", "2",
                           "--seed", "5"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert str(out / "annotations" / "instances_train.json") in proc.stdout
    make_shapes(tmp_path / "ref", seed=5, num_train=3, num_val=2)
    assert _digest(out) == _digest(tmp_path / "ref")
    bad = subprocess.run([str(exe), "data", "shapes", "--out", str(out), "--img-size", "16"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "img" in bad.stderr and "64" in bad.stderr and "Traceback" not in bad.stderr
