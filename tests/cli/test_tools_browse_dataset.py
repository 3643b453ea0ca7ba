"""``segdet browse-dataset``: real subprocess on tiny shapes data; drawn PNGs checked pixel by pixel."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from segdet.visualization import label_colour, seg_palette

ROOT = Path(__file__).resolve().parents[2]
SEGDET = str(Path(sys.executable).parent / "segdet")


def _segdet(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run([SEGDET, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    if check:
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return proc


@pytest.fixture(scope="module")
def shapes(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("browse")
    _segdet("data", "shapes", "--out", "data/shapes", "--num-train", "4", "--num-val", "2", "--img-size", "64",
            cwd=tmp)
    return tmp


def test_detection_boxes_drawn_at_ground_truth(shapes):
    cfg = str(ROOT / "configs" / "retinanet" / "retinanet_r18_fpn_shapes.py")
    out = shapes / "vis_det"
    proc = _segdet("browse-dataset", cfg, "--output-dir", str(out), "--not-show", "--skip-type", "RandomFlip",
                   cwd=shapes)
    assert "wrote 4 image(s)" in proc.stdout
    coco = json.loads((shapes / "data/shapes/annotations/instances_train.json").read_text())
    cat_index = {c["id"]: i for i, c in enumerate(sorted(coco["categories"], key=lambda c: c["id"]))}
    hits = total = 0
    for image in coco["images"]:
        drawn = cv2.imread(str(out / (Path(image["file_name"]).stem + ".png")))
        # 64 px -> Resize(128, keep_ratio) -> enlarged x2 to reach --min-size 256
        assert drawn is not None and drawn.shape == (256, 256, 3)
        for ann in (a for a in coco["annotations"] if a["image_id"] == image["id"]):
            x, y, w, h = (v * 4 for v in ann["bbox"])
            colour = np.array(label_colour(cat_index[ann["category_id"]]))
            x2, y2 = int(round(x + w)), int(round(y + h))
            near = drawn[max(y2 - 2, 0):y2 + 3, max(x2 - 2, 0):x2 + 3].reshape(-1, 3)
            hits += int((near == colour).all(1).any())  # the box's bottom-right corner in its class colour
            total += 1
    assert total > 0 and hits >= 0.8 * total  # a later box or label may cover a corner


def test_instance_masks_and_val_split(shapes):
    cfg = str(ROOT / "configs" / "mask_rcnn" / "mask_rcnn_r18_fpn_shapes.py")
    out = shapes / "vis_mask"
    _segdet("browse-dataset", cfg, "--split", "val", "--output-dir", str(out), "--not-show", cwd=shapes)
    files = sorted(out.glob("*.png"))
    assert len(files) == 2  # the val split, annotations loaded as the train pipeline loads them
    plain = _segdet("browse-dataset", cfg, "--split", "val", "--output-dir", str(shapes / "vis_nomask"),
                    "--not-show", "--skip-type", "gt_masks", cwd=shapes)
    assert plain.returncode == 0
    differs = [not np.array_equal(cv2.imread(str(f)), cv2.imread(str(shapes / "vis_nomask" / f.name)))
               for f in files]
    assert all(differs)  # the translucent masks changed pixels inside the objects


def test_semantic_map_blended_in_palette_with_legend(shapes):
    cfg = str(ROOT / "configs" / "pspnet" / "pspnet_r18-d8_shapes.py")
    out = shapes / "vis_seg"
    _segdet("browse-dataset", cfg, "--output-dir", str(out), "--not-show", "--skip-type", "RandomFlip", cwd=shapes)
    palette = seg_palette(4, [[0, 0, 0], [220, 20, 60], [0, 128, 255], [255, 200, 0]])
    for name in ("000000", "000001"):
        drawn = cv2.imread(str(out / f"{name}.png"))
        img = cv2.imread(str(shapes / "data/shapes/images/train" / f"{name}.png"))
        seg = cv2.imread(str(shapes / "data/shapes/semantic/train" / f"{name}.png"), cv2.IMREAD_UNCHANGED)
        assert drawn.shape[0] == 256 and drawn.shape[1] > 256 + 40  # 64 px x4, plus the legend panel
        expected = np.round(img.astype(np.float32) * 0.5 + palette[seg].astype(np.float32) * 0.5)
        np.testing.assert_array_equal(drawn[:256:4, :256:4], expected.astype(np.uint8))
        legend = drawn[:, 256:]
        for c in np.unique(seg):  # a swatch of every class present
            assert (legend == palette[c]).all(-1).sum() >= 25


def test_browse_dataset_errors(shapes, tmp_path):
    cfg = str(ROOT / "configs" / "retinanet" / "retinanet_r18_fpn_shapes.py")
    proc = _segdet("browse-dataset", cfg, "--output-dir", "v", "--not-show", cwd=tmp_path, check=False)
    assert proc.returncode != 0 and "data/shapes" in proc.stderr and "segdet data shapes" in proc.stderr
    proc = _segdet("browse-dataset", cfg, "--not-show", cwd=shapes, check=False)
    assert proc.returncode != 0 and "--output-dir" in proc.stderr
    proc = _segdet("browse-dataset", str(tmp_path / "none.py"), "--output-dir", "v", cwd=shapes, check=False)
    assert proc.returncode != 0 and "none.py" in proc.stderr
