"""CocoMetric's bulk path: detections gathered as arrays, the result COCO object built without
``loadRes``, and the ground-truth index reused across evaluations; numbers as pycocotools gives them."""
from __future__ import annotations

import contextlib
import io
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from segdet.evaluation import coco_metric
from segdet.evaluation.coco_metric import CocoMetric
from segdet.evaluation.coco_results import collect_detections, load_detections, results_to_coco_json

CAT_IDS = [2, 5, 9]
H, W = 48, 64
ITEMS = ["mAP", "mAP_50", "mAP_75", "mAP_s", "mAP_m", "mAP_l",
         "AR@100", "AR@300", "AR@1000", "AR_s@1000", "AR_m@1000", "AR_l@1000"]


def _polygon(box: np.ndarray) -> list[float]:
    x1, y1, x2, y2 = box.tolist()
    return [x1, y1, x2, y1, x2, y2, x1, y2]


def _data(seed: int = 0, n_images: int = 6) -> tuple[Any, list[dict[str, Any]]]:
    """Ground truth with polygon masks (one crowd box) and detections with bool masks."""
    rng = np.random.default_rng(seed)
    images, anns, results = [], [], []
    for i in range(n_images):
        img_id = 11 + 3 * i
        images.append(dict(id=img_id, file_name=f"{i}.jpg", width=W, height=H))
        k = int(rng.integers(1, 5))
        xy = rng.uniform(0, [40, 28], (k, 2))
        boxes = np.round(np.concatenate([xy, np.minimum(xy + rng.uniform(3, 40, (k, 2)), [W, H])], 1))
        labels = rng.integers(0, 3, k)
        for j, (box, lab) in enumerate(zip(boxes, labels)):
            x1, y1, x2, y2 = box.tolist()
            anns.append(dict(id=len(anns) + 1, image_id=img_id, category_id=CAT_IDS[lab],
                             bbox=[x1, y1, x2 - x1, y2 - y1], area=(x2 - x1) * (y2 - y1),
                             iscrowd=int(i == 0 and j == 0), segmentation=[_polygon(box)]))
        n = k + 4
        det = np.concatenate([boxes + rng.normal(0, 1.0, boxes.shape),
                              np.sort(rng.uniform(0, [W, H, W, H], (4, 4)).reshape(4, 2, 2), 1)
                              .reshape(4, 4)[:, [0, 2, 1, 3]]])
        det = np.clip(det, 0, [W, H, W, H])
        masks = np.zeros((n, H, W), bool)
        for m, (x1, y1, x2, y2) in zip(masks, np.round(det).astype(int)):
            m[y1:y2, x1:x2] = True
        results.append(dict(bboxes=torch.as_tensor(det, dtype=torch.float32),
                            scores=torch.as_tensor(rng.uniform(0.05, 1, n)),
                            labels=torch.as_tensor(np.concatenate([labels, rng.integers(0, 3, 4)])),
                            masks=torch.from_numpy(masks)))
    results[2] = dict(bboxes=torch.zeros(0, 4), scores=torch.zeros(0), labels=torch.zeros(0, dtype=torch.long),
                      masks=torch.zeros(0, H, W, dtype=torch.bool))  # an image without detections
    coco = COCO()
    coco.dataset = dict(images=images, annotations=anns,
                        categories=[dict(id=c, name=f"c{c}") for c in CAT_IDS])
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return SimpleNamespace(coco=coco, cat_ids=CAT_IDS, img_ids=[im["id"] for im in images],
                           CLASSES=tuple(f"c{c}" for c in CAT_IDS)), results


def _per_detection_json(dataset: Any, results: list[dict[str, Any]], metric: str) -> list[dict[str, Any]]:
    """The conversion written the slow, obvious way: one dict per detection in a Python loop."""
    out = []
    for img_id, r in zip(dataset.img_ids, results):
        for k in range(len(r["bboxes"])):
            x1, y1, x2, y2 = r["bboxes"][k].double().tolist()
            d = dict(image_id=img_id, score=float(r["scores"][k]),
                     category_id=CAT_IDS[int(r["labels"][k])] if metric != "proposal" else CAT_IDS[0])
            if metric == "segm":
                rle = mask_utils.encode(np.asfortranarray(r["masks"][k].numpy().astype(np.uint8)))
                d["segmentation"] = dict(size=rle["size"], counts=rle["counts"].decode("ascii"))
            else:
                d["bbox"] = [x1, y1, x2 - x1, y2 - y1]
            out.append(d)
    return out


def _pycocotools_stats(dataset: Any, dets: list[dict[str, Any]], metric: str) -> np.ndarray:
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = {**dataset.coco.dataset,
                      "annotations": [dict(a) for a in dataset.coco.dataset["annotations"]]}
        gt.createIndex()
        ev = COCOeval(gt, gt.loadRes(dets), "segm" if metric == "segm" else "bbox")
        ev.params.catIds, ev.params.imgIds = CAT_IDS, dataset.img_ids
        ev.params.maxDets = [100, 300, 1000]
        ev.params.useCats = int(metric != "proposal")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return np.asarray(ev.stats)


@pytest.mark.parametrize("metric", ["bbox", "segm", "proposal"])
def test_bulk_json_equals_per_detection_json(metric: str) -> None:
    dataset, results = _data()
    got = results_to_coco_json(results, dataset.img_ids, CAT_IDS, metric)
    assert got == _per_detection_json(dataset, results, metric)
    assert all(type(d["image_id"]) is int and type(d["category_id"]) is int and type(d["score"]) is float
               for d in got)


@pytest.mark.parametrize("backend", ["faster_coco_eval", "pycocotools"])
@pytest.mark.parametrize("metric", ["bbox", "segm"])
@pytest.mark.parametrize("n_images", [6, 60])
def test_load_detections_equals_load_res(backend: str, metric: str, n_images: int) -> None:
    """60 images hold more than 255 masks: pycocotools' ``area()`` fails on that many RLEs in
    one call under NumPy 2 (a Mask R-CNN evaluation crashed on it)."""
    dataset, results = _data(n_images=n_images)
    gt = coco_metric._backend_gt(dataset.coco, backend == "faster_coco_eval")
    dets = collect_detections(results, dataset.img_ids, CAT_IDS, metric)
    assert n_images == 6 or len(dets) > 255
    with contextlib.redirect_stdout(io.StringIO()):
        ref = gt.loadRes(dets.to_json())
    got = load_detections(gt, dets)
    assert type(got) is type(gt)
    assert sorted(got.anns) == sorted(ref.anns) == list(range(1, len(dets) + 1))
    for k, a in ref.anns.items():
        b = got.anns[k]
        for key in ("image_id", "category_id", "score", "id", "iscrowd", "area"):
            assert b[key] == a[key], (k, key)
        np.testing.assert_array_equal(np.asarray(b["bbox"], float), np.asarray(a["bbox"], float))
        if metric == "segm":
            assert b["segmentation"] == a["segmentation"]
    assert got.imgToAnns.keys() == ref.imgToAnns.keys()
    assert got.cats == ref.cats and got.imgs.keys() == ref.imgs.keys()


@pytest.mark.parametrize("metric", ["bbox", "segm", "proposal"])
def test_full_precision_numbers_equal_pycocotools(metric: str) -> None:
    """pycocotools backend: bit-identical; faster-coco-eval: the same up to float summation order."""
    dataset, results = _data(seed=1)
    ref = _pycocotools_stats(dataset, _per_detection_json(dataset, results, metric), metric)
    assert 0 < ref[0] < 1
    prefix = "" if metric == "proposal" else f"{metric}_"
    for backend, tol in (("pycocotools", 0.0), ("faster_coco_eval", 1e-12)):
        out = CocoMetric(metric=metric, metric_items=ITEMS, backend=backend, ndigits=None).evaluate(
            results, dataset, logger=None)
        np.testing.assert_allclose([out[prefix + k] for k in ITEMS], ref, rtol=0, atol=tol)


@pytest.mark.parametrize("backend", ["faster_coco_eval", "pycocotools"])
def test_ground_truth_index_reused_and_left_untouched(backend: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The next evaluation (a new CocoMetric, as an evaluation hook builds each epoch) reuses the
    backend's index; numbers stay the same even after segm turned the copies' polygons into RLE;
    the data set's annotations keep their polygons and get no ``ignore`` flag."""
    dataset, results = _data(seed=2)
    faster = backend == "faster_coco_eval"
    first = CocoMetric(metric=["segm", "bbox"], backend=backend, ndigits=None)
    out1 = first.evaluate(results, dataset)
    gt = coco_metric._backend_gt(dataset.coco, faster)
    out2 = CocoMetric(metric=["bbox", "segm"], backend=backend, ndigits=None).evaluate(results, dataset)
    assert coco_metric._backend_gt(dataset.coco, faster) is gt
    assert out1 == out2
    for ann in dataset.coco.dataset["annotations"]:
        assert isinstance(ann["segmentation"], list) and "ignore" not in ann
    # a changed annotation list is indexed again
    dataset.coco.dataset["annotations"] = dataset.coco.dataset["annotations"][1:]
    assert coco_metric._backend_gt(dataset.coco, faster) is not gt
    capsys.readouterr()


def test_errors_still_name_the_image() -> None:
    dataset, results = _data()
    bad = [dict(r) for r in results]
    bad[3] = {**bad[3], "labels": bad[3]["labels"] + 3}
    with pytest.raises(ValueError, match=f"of image {dataset.img_ids[3]} are outside"):
        collect_detections(bad, dataset.img_ids, CAT_IDS)
    with pytest.raises(ValueError, match=f"'masks' in the result of image {dataset.img_ids[0]}"):
        collect_detections([{k: v for k, v in r.items() if k != "masks"} for r in results],
                           dataset.img_ids, CAT_IDS, "segm")
    other = SimpleNamespace(**{**vars(dataset), "img_ids": [999, *dataset.img_ids[1:]]})
    with pytest.raises(ValueError, match=r"image ids \[999\] that the ground truth does not hold"):
        CocoMetric(backend="pycocotools").evaluate(results, other, logger=None)
