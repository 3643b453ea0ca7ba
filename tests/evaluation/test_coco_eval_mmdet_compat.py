"""bbox_mAP / segm_mAP as MMDetection 2.x reports them: pycocotools' first statistic with maxDets
(100, 300, 1000), i.e. AP at 100 detections per image; logger='silent'; full precision; IoUMetric import."""
from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from segdet.data.datasets.coco import CocoDataset
from segdet.evaluation.coco_metric import CocoMetric, results_to_coco_json

SIZE = 64
CAT_IDS = [1, 2]
# pycocotools' stats order, as MMDetection 2.x maps it
STAT_NAMES = ["mAP", "mAP_50", "mAP_75", "mAP_s", "mAP_m", "mAP_l", "AR@100", "AR@300", "AR@1000",
              "AR_s@1000", "AR_m@1000", "AR_l@1000"]


def _rle(box: np.ndarray) -> dict[str, Any]:
    m = np.zeros((SIZE, SIZE), np.uint8)
    x1, y1, x2, y2 = box.astype(int)
    m[y1:y2, x1:x2] = 1
    rle = mask_utils.encode(np.asfortranarray(m))
    rle["counts"] = rle["counts"].decode("ascii")
    return rle


@pytest.fixture()
def crowded(tmp_path: Path) -> tuple[CocoDataset, list[dict[str, Any]], str]:
    """Image 1 holds 144 objects of class 0 (a 12x12 grid of 4x4 boxes) and 3 of class 1; image 2
    a few. Detections: every object found, scores falling, plus some false positives, so AP at 100
    detections per image differs from AP at 1000."""
    rng = np.random.default_rng(0)
    grid = np.array([[5 * i + 2, 5 * j + 2, 5 * i + 6, 5 * j + 6] for i in range(12) for j in range(12)], float)
    layout = {1: [(b, 0) for b in grid] + [(np.array([1.0, 1, 30, 30]), 1), (np.array([30.0, 30, 60, 62]), 1),
                                          (np.array([2.0, 40, 20, 60]), 1)],
              2: [(np.array([3.0, 3, 40, 40]), 0), (np.array([10.0, 20, 60, 50]), 1)]}
    images, anns, results = [], [], []
    for img_id, objects in layout.items():
        images.append(dict(id=img_id, file_name=f"{img_id}.jpg", width=SIZE, height=SIZE))
        for box, label in objects:
            x1, y1, x2, y2 = box.tolist()
            rle = _rle(box)
            anns.append(dict(id=len(anns) + 1, image_id=img_id, category_id=CAT_IDS[label], iscrowd=0,
                             bbox=[x1, y1, x2 - x1, y2 - y1], area=float(mask_utils.area(rle)), segmentation=rle))
        boxes = np.stack([b for b, _ in objects] + [rng.uniform(0, 30, 2).repeat(2) + [0, 0, 5, 5]
                                                    for _ in range(6)])
        boxes = boxes + rng.normal(0, 0.3, boxes.shape)
        labels = np.array([lab for _, lab in objects] + [0, 1] * 3)
        scores = rng.permutation(np.linspace(0.99, 0.05, len(boxes)))
        masks = np.stack([mask_utils.decode(_rle(np.clip(np.round(b), 0, SIZE))).astype(bool) for b in boxes])
        results.append(dict(bboxes=torch.as_tensor(np.clip(boxes, 0, SIZE), dtype=torch.float32),
                            scores=torch.as_tensor(scores, dtype=torch.float32),
                            labels=torch.as_tensor(labels), masks=torch.from_numpy(masks)))
    ann_file = tmp_path / "instances.json"
    ann_file.write_text(json.dumps(dict(images=images, annotations=anns,
                                        categories=[dict(id=1, name="dot"), dict(id=2, name="blob")])))
    with contextlib.redirect_stdout(io.StringIO()):
        dataset = CocoDataset(ann_file=str(ann_file), pipeline=[], classes=("dot", "blob"), test_mode=True)
    return dataset, results, str(ann_file)


def _pycocotools_stats(ann_file: str, dataset: Any, results: list[dict[str, Any]], kind: str,
                       max_dets: list[int]) -> np.ndarray:
    """Plain pycocotools, set up as MMDetection 2.x's CocoDataset.evaluate sets it up."""
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(ann_file)
        ev = COCOeval(gt, gt.loadRes(results_to_coco_json(results, dataset.img_ids, dataset.cat_ids, kind)), kind)
        ev.params.catIds = list(dataset.cat_ids)
        ev.params.imgIds = list(dataset.img_ids)
        ev.params.maxDets = max_dets
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return np.asarray(ev.stats)


@pytest.mark.parametrize("backend", ["pycocotools", "faster_coco_eval"])
def test_map_is_ap_at_100_detections_as_mmdetection_reports(crowded, backend):
    dataset, results, ann_file = crowded
    reference = {kind: _pycocotools_stats(ann_file, dataset, results, kind, [100, 300, 1000])
                 for kind in ("bbox", "segm")}
    metric = CocoMetric(metric=["bbox", "segm"], backend=backend)
    out = metric.evaluate(results, dataset, logger=None)
    tol = 1e-12 if backend == "pycocotools" else 1e-6
    for kind in ("bbox", "segm"):
        stats = reference[kind]
        full = [metric.full_stats[f"{kind}_{name}"] for name in STAT_NAMES]
        np.testing.assert_allclose(full, stats, atol=tol, rtol=0)
        assert out[f"{kind}_mAP"] == float(f"{stats[0]:.3f}")
        assert out[f"{kind}_mAP_50"] == float(f"{stats[1]:.3f}")
        assert out[f"{kind}_mAP_copypaste"] == " ".join(f"{v:.3f}" for v in stats[:6])
    # the case matters: 147 objects in image 1, so AP at 1000 detections per image is another number
    assert _pycocotools_stats(ann_file, dataset, results, "bbox", [1, 10, 1000])[0] == -1  # no 100: none
    ap_1000 = CocoMetric(proposal_nums=(1000,), backend="pycocotools", ndigits=None).evaluate(results, dataset)
    assert ap_1000["bbox_mAP"] - metric.full_stats["bbox_mAP"] > 0.05

def test_silent_logger_prints_nothing_and_full_precision(crowded, capfd):
    dataset, results, _ = crowded
    capfd.readouterr()
    rounded = dataset.evaluate(results, metric=["bbox", "segm"], logger="silent", classwise=True)
    full = dataset.evaluate(results, metric=["bbox", "segm"], logger="silent", ndigits=None)
    captured = capfd.readouterr()
    assert captured.out == "" and captured.err == ""
    for key, value in rounded.items():
        if key.endswith("copypaste"):
            continue
        assert value == float(f"{full[key]:.3f}")
    assert any(full[k] != rounded[k] for k in rounded if not k.endswith("copypaste"))
    dataset.evaluate(results, metric="bbox")  # the default logger prints the summary
    assert "maxDets= 100 ]" in capfd.readouterr().out


def test_iou_metric_imports_like_the_other_metrics():
    from segdet.evaluation import CocoMetric as Coco
    from segdet.evaluation import IoUMetric

    assert Coco is CocoMetric
    label = np.array([[0, 1], [1, 255]])
    out = IoUMetric(metrics="mIoU").evaluate([torch.tensor([[0, 1], [0, 1]])],
                                             _SegSet([label]), logger="silent")
    # the 255 pixel is ignored; class 0: I=1, U=2; class 1: I=1, U=2; 2 of 3 labelled pixels right
    assert out["IoU.background"] == pytest.approx(0.5) and out["IoU.thing"] == pytest.approx(0.5)
    assert out["aAcc"] == pytest.approx(2 / 3)


class _SegSet:
    CLASSES = ("background", "thing")
    PALETTE = None
    ignore_index = 255
    reduce_zero_label = False
    label_map: dict = {}

    def __init__(self, maps: list[np.ndarray]) -> None:
        self.maps = maps

    def get_gt_seg_map_by_idx(self, i: int) -> np.ndarray:
        return self.maps[i]

    def __len__(self) -> int:
        return len(self.maps)
