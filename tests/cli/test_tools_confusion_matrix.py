"""``segdet confusion-matrix``: hand-made results on tiny shapes data give the hand-counted matrix."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

pytest.importorskip("matplotlib")

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
    tmp = tmp_path_factory.mktemp("confusion")
    _segdet("data", "shapes", "--out", "data/shapes", "--num-train", "4", "--num-val", "2", "--img-size", "64",
            cwd=tmp)
    return tmp


def _printed(stdout: str, n: int) -> np.ndarray:
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("rows: ground truth")) + 2
    return np.array([[int(v) for v in line.split()[-n:]] for line in lines[start:start + n]])


def _iou(a, b):
    lt, rb = np.maximum(a[:2], b[:2]), np.minimum(a[2:], b[2:])
    inter = np.clip(rb - lt, 0, None).prod()
    return inter / ((a[2:] - a[:2]).prod() + (b[2:] - b[:2]).prod() - inter)


def test_detection_matrix_with_background(shapes):
    coco = json.loads((shapes / "data/shapes/annotations/instances_val.json").read_text())
    label = {c["id"]: i for i, c in enumerate(sorted(coco["categories"], key=lambda c: c["id"]))}
    gts = []
    for image in coco["images"]:
        anns = [a for a in coco["annotations"] if a["image_id"] == image["id"]]
        boxes = np.array([[a["bbox"][0], a["bbox"][1], a["bbox"][0] + a["bbox"][2], a["bbox"][1] + a["bbox"][3]]
                          for a in anns], np.float64)
        gts.append((boxes, np.array([label[a["category_id"]] for a in anns])))
    boxes0, labels0 = gts[0]
    assert len(labels0) >= 2  # the data the expectation below is written for
    assert all(_iou(boxes0[i], boxes0[j]) < 0.5 for i in range(len(boxes0)) for j in range(i))

    wrong = (labels0[0] + 1) % 3
    pred_labels = np.concatenate([[wrong], labels0[1:], [0, 1]])
    pred_boxes = np.concatenate([boxes0, [[0, 0, 1, 1], boxes0[1]]])  # a background FP, a low-score one
    scores = np.concatenate([np.full(len(labels0), 0.9), [0.8, 0.1]])
    results = [dict(bboxes=torch.tensor(pred_boxes, dtype=torch.float32), scores=torch.tensor(scores),
                    labels=torch.tensor(pred_labels)),
               dict(bboxes=torch.zeros(0, 4), scores=torch.zeros(0), labels=torch.zeros(0, dtype=torch.long))]
    torch.save(results, shapes / "det.pkl")

    expected = np.zeros((4, 4), np.int64)
    expected[labels0[0], wrong] += 1  # confused
    expected[labels0[0], 3] += 1  # so its box counts as missed
    for lab in labels0[1:]:
        expected[lab, lab] += 1
    expected[3, 0] += 1  # the false positive on background
    for lab in gts[1][1]:
        expected[lab, 3] += 1  # nothing detected in the second image

    cfg = str(ROOT / "configs" / "retinanet" / "retinanet_r18_fpn_shapes.py")
    proc = _segdet("confusion-matrix", cfg, str(shapes / "det.pkl"), "--out", "cm_det", "--score-thr", "0.3",
                   cwd=shapes)
    np.testing.assert_array_equal(_printed(proc.stdout, 4), expected)
    png = cv2.imread(str(shapes / "cm_det" / "confusion_matrix.png"))
    assert png is not None and png.shape[:2] == (374, 440)  # 4.4 x 3.74 inches at 100 dpi
    assert "background" in proc.stdout and "triangle" in proc.stdout


def test_segmentation_pixel_matrix(shapes):
    gts = [cv2.imread(str(p), cv2.IMREAD_UNCHANGED).astype(np.int64)
           for p in sorted((shapes / "data/shapes/semantic/val").glob("*.png"))]
    preds = [g.copy() for g in gts]
    preds[0][preds[0] == 2] = 3  # every square pixel of the first image called triangle
    preds[1][:8] = 0  # the top rows of the second called background
    torch.save([torch.from_numpy(p) for p in preds], shapes / "seg.pkl")
    expected = np.zeros((4, 4), np.int64)
    for g, p in zip(gts, preds):
        np.add.at(expected, (g.ravel(), p.ravel()), 1)
    assert expected[2, 3] > 0 and expected.trace() < expected.sum()

    cfg = str(ROOT / "configs" / "pspnet" / "pspnet_r18-d8_shapes.py")
    proc = _segdet("confusion-matrix", cfg, str(shapes / "seg.pkl"), "--out", "cm_seg", cwd=shapes)
    np.testing.assert_array_equal(_printed(proc.stdout, 4), expected)
    png = cv2.imread(str(shapes / "cm_seg" / "confusion_matrix.png"))
    assert png is not None and png.shape[:2] == (374, 440)


def test_confusion_matrix_errors(shapes):
    cfg = str(ROOT / "configs" / "retinanet" / "retinanet_r18_fpn_shapes.py")
    proc = _segdet("confusion-matrix", cfg, "nope.pkl", cwd=shapes, check=False)
    assert proc.returncode != 0 and "nope.pkl" in proc.stderr and "segdet test" in proc.stderr
    torch.save([], shapes / "short.pkl")
    proc = _segdet("confusion-matrix", cfg, "short.pkl", cwd=shapes, check=False)
    assert proc.returncode != 0 and "holds 0 results" in proc.stderr and "2 images" in proc.stderr


def test_confusion_matrix_never_unpickles_a_results_file_that_could_run_code(shapes):
    marker = shapes / "pwned"
    maker = shapes / "_make_evil.py"
    maker.write_text(
        "import os, pickle, sys\n"
        "class Payload:\n"
        "    def __reduce__(self):\n"
        "        return (os.system, ('touch ' + sys.argv[2],))\n"
        "open(sys.argv[1], 'wb').write(pickle.dumps([Payload()]))\n")
    subprocess.run([sys.executable, str(maker), str(shapes / "evil.pkl"), str(marker)], check=True, timeout=120)
    cfg = str(ROOT / "configs" / "retinanet" / "retinanet_r18_fpn_shapes.py")
    proc = _segdet("confusion-matrix", cfg, "evil.pkl", cwd=shapes, check=False)
    assert proc.returncode != 0 and "evil.pkl" in proc.stderr and "cannot read these results safely" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not marker.exists()
