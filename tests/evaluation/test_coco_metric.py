"""CocoMetric against plain pycocotools COCOeval on a synthetic ground truth with ids 1, 3, 7."""
from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from segdet.evaluation.coco_metric import CocoMetric, results_to_coco_json

CAT_IDS = [1, 3, 7]
NAMES = ("cat", "dog", "bird")
H, W = 120, 160  # boxes up to 120 px, so small, medium and large areas all occur
BACKENDS = ["faster_coco_eval", "pycocotools"]


def _box_mask(box: np.ndarray) -> np.ndarray:
    m = np.zeros((H, W), bool)
    x1, y1, x2, y2 = np.round(box).astype(int)
    m[y1:y2, x1:x2] = True
    return m


@pytest.fixture()
def coco_data(tmp_path: Path) -> tuple[Any, list[dict[str, Any]]]:
    """A dataset-like object over a COCO json of 8 images, and noisy detections of it."""
    rng = np.random.default_rng(0)
    images, anns, results = [], [], []
    for i in range(8):
        img_id = 100 + 7 * i  # ids neither contiguous nor zero-based
        images.append(dict(id=img_id, file_name=f"{i}.jpg", width=W, height=H))
        k = int(rng.integers(1, 5))
        xy = rng.uniform(0, [100, 70], (k, 2))
        wh = rng.uniform([4, 4], [120, 100], (k, 2))
        boxes = np.round(np.concatenate([xy, np.minimum(xy + wh, [W, H])], 1))
        labels = rng.integers(0, 3, k)
        for box, label in zip(boxes, labels):
            rle = mask_utils.encode(np.asfortranarray(_box_mask(box).astype(np.uint8)))
            rle["counts"] = rle["counts"].decode("ascii")
            x1, y1, x2, y2 = box.tolist()
            anns.append(dict(id=len(anns) + 1, image_id=img_id, category_id=CAT_IDS[label],
                             bbox=[x1, y1, x2 - x1, y2 - y1], area=float(mask_utils.area(rle)),
                             iscrowd=0, segmentation=rle))
        det_boxes = np.concatenate([boxes + rng.normal(0, 1.5, boxes.shape),
                                    np.sort(rng.uniform(0, [W, H, W, H], (3, 4)).reshape(3, 2, 2),
                                            axis=1).reshape(3, 4)[:, [0, 2, 1, 3]]])
        det_boxes = np.clip(det_boxes, 0, [W, H, W, H])
        det_labels = np.concatenate([labels, rng.integers(0, 3, 3)])
        results.append(dict(bboxes=torch.as_tensor(det_boxes, dtype=torch.float32),
                            scores=torch.as_tensor(rng.uniform(0.05, 1, len(det_boxes))),
                            labels=torch.as_tensor(det_labels, dtype=torch.long),
                            masks=np.stack([_box_mask(b) for b in det_boxes])))
    ann_file = tmp_path / "instances.json"
    ann_file.write_text(json.dumps(dict(images=images, annotations=anns, categories=[
        dict(id=c, name=n) for c, n in zip(CAT_IDS, NAMES)])))
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(ann_file))
    dataset = SimpleNamespace(coco=coco, cat_ids=CAT_IDS, img_ids=[im["id"] for im in images],
                              CLASSES=NAMES)
    return dataset, results


def _reference_stats(dataset: Any, results: list[dict[str, Any]], metric: str) -> np.ndarray:
    """Plain pycocotools stats, with maxDets (100, 300, 1000) as MMDetection sets them."""
    dets = []
    for img_id, r in zip(dataset.img_ids, results):
        boxes = r["bboxes"].numpy().astype(np.float64)
        for k, (b, s, lab) in enumerate(zip(boxes, r["scores"].tolist(), r["labels"].tolist())):
            d = dict(image_id=img_id, category_id=CAT_IDS[lab] if metric != "proposal" else 1,
                     score=s)
            if metric == "segm":
                d["segmentation"] = mask_utils.encode(np.asfortranarray(r["masks"][k].astype(np.uint8)))
            else:
                d["bbox"] = [b[0], b[1], b[2] - b[0], b[3] - b[1]]
            dets.append(d)
    with contextlib.redirect_stdout(io.StringIO()):
        ev = COCOeval(dataset.coco, dataset.coco.loadRes(dets), "segm" if metric == "segm" else "bbox")
        ev.params.catIds, ev.params.imgIds = CAT_IDS, dataset.img_ids
        ev.params.maxDets = [100, 300, 1000]
        ev.params.useCats = int(metric != "proposal")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return np.asarray(ev.stats)


def _mmdet_round(values: np.ndarray) -> np.ndarray:
    """MMDetection's ``float(f'{v:.3f}')`` (np.round differs on ties such as 0.6125)."""
    return np.array([float(f"{v:.3f}") for v in values])


ALL_ITEMS = ["mAP", "mAP_50", "mAP_75", "mAP_s", "mAP_m", "mAP_l",
             "AR@100", "AR@300", "AR@1000", "AR_s@1000", "AR_m@1000", "AR_l@1000"]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("metric", ["bbox", "segm"])
def test_matches_pycocotools(coco_data: Any, backend: str, metric: str) -> None:
    dataset, results = coco_data
    ref = _reference_stats(dataset, results, metric)
    out = CocoMetric(metric=metric, metric_items=ALL_ITEMS, backend=backend).evaluate(results, dataset)
    got = np.array([out[f"{metric}_{k}"] for k in ALL_ITEMS])
    np.testing.assert_allclose(got, _mmdet_round(ref), atol=1e-9)
    assert 0 < out[f"{metric}_mAP"] < 1
    assert out[f"{metric}_mAP_copypaste"] == " ".join(f"{v:.3f}" for v in ref[:6])


@pytest.mark.parametrize("backend", BACKENDS)
def test_default_items_and_several_metrics(coco_data: Any, backend: str) -> None:
    dataset, results = coco_data
    out = CocoMetric(metric=["bbox", "segm"], backend=backend).evaluate(results, dataset)
    for m in ("bbox", "segm"):
        assert [k for k in out if k.startswith(m)] == [
            f"{m}_{k}" for k in ALL_ITEMS[:6]] + [f"{m}_mAP_copypaste"]
    assert all(isinstance(v, float) for k, v in out.items() if not k.endswith("copypaste"))


@pytest.mark.parametrize("backend", BACKENDS)
def test_proposal_matches_class_agnostic_pycocotools(coco_data: Any, backend: str) -> None:
    dataset, results = coco_data
    ref = _reference_stats(dataset, results, "proposal")
    out = CocoMetric(metric="proposal", backend=backend).evaluate(results, dataset)
    assert list(out) == ALL_ITEMS[6:]  # unprefixed, as MMDetection 2.x
    np.testing.assert_allclose([out[k] for k in ALL_ITEMS[6:]], _mmdet_round(ref[6:]), atol=1e-9)
    arrays = [torch.cat([r["bboxes"], r["scores"][:, None].float()], 1) for r in results]  # (N, 5) each
    assert CocoMetric(metric="proposal", backend=backend).evaluate(arrays, dataset) == out


@pytest.mark.parametrize("backend", BACKENDS)
def test_empty_results_give_zeros(coco_data: Any, backend: str) -> None:
    dataset, results = coco_data
    empty = [dict(bboxes=torch.zeros(0, 4), scores=torch.zeros(0), labels=torch.zeros(0, dtype=torch.long),
                  masks=np.zeros((0, H, W), bool)) for _ in results]
    out = CocoMetric(metric=["bbox", "segm", "proposal"], backend=backend).evaluate(empty, dataset)
    assert out["bbox_mAP"] == out["segm_mAP_l"] == out["AR@1000"] == 0.0
    assert all(v == 0.0 for k, v in out.items() if not k.endswith("copypaste"))
    assert out["bbox_mAP_copypaste"] == "0.000 0.000 0.000 0.000 0.000 0.000"


@pytest.mark.parametrize("backend", BACKENDS)
def test_classwise_table(coco_data: Any, backend: str, capsys: pytest.CaptureFixture[str]) -> None:
    dataset, results = coco_data
    CocoMetric(classwise=True, backend=backend).evaluate(results, dataset)
    text = capsys.readouterr().out
    assert "AP per category" in text
    header = next(line for line in text.splitlines() if line.startswith("| category"))
    assert header.split("|")[1:-1] == [" category ", " AP    "] * 3
    row = next(line for line in text.splitlines() if line.startswith("| cat "))
    values = [c.strip() for c in row.split("|")[1:-1]]
    assert values[0::2] == list(NAMES)
    # per-category AP averages to mAP (every category has ground truth here)
    mean = np.mean([float(v) for v in values[1::2]])
    out = CocoMetric(backend=backend).evaluate(results, dataset)
    assert abs(mean - out["bbox_mAP"]) < 2e-3


def test_rle_list_masks_equal_arrays(coco_data: Any) -> None:
    dataset, results = coco_data
    as_rle = []
    for r in results:
        rles = mask_utils.encode(np.asfortranarray(r["masks"].transpose(1, 2, 0).astype(np.uint8)))
        as_rle.append({**r, "masks": list(rles)})
    metric = CocoMetric(metric="segm", backend="pycocotools")
    assert metric.evaluate(as_rle, dataset) == metric.evaluate(results, dataset)


def test_mmdet_per_class_list_results(coco_data: Any) -> None:
    dataset, results = coco_data
    legacy = []
    for r in results:
        dets = np.concatenate([r["bboxes"].numpy(), r["scores"].numpy()[:, None]], 1)
        legacy.append([dets[r["labels"].numpy() == k] for k in range(3)])
    metric = CocoMetric(backend="pycocotools")
    assert metric.evaluate(legacy, dataset) == metric.evaluate(results, dataset)


def test_json_conversion_uses_cat_ids_and_xywh() -> None:
    r = dict(bboxes=np.array([[10.0, 20.0, 30.0, 60.0]]), scores=np.array([0.5]), labels=np.array([2]))
    dets = results_to_coco_json([r], [42], CAT_IDS)
    assert dets == [dict(image_id=42, category_id=7, score=0.5, bbox=[10.0, 20.0, 20.0, 40.0])]


def test_errors_name_the_problem(coco_data: Any) -> None:
    dataset, results = coco_data
    with pytest.raises(ValueError, match="outside"):
        CocoMetric().evaluate([{**results[0], "labels": results[0]["labels"] + 3}, *results[1:]], dataset)
    with pytest.raises(ValueError, match="img_ids"):
        CocoMetric().evaluate(results[:-1], dataset)
    with pytest.raises(KeyError, match="choose from"):
        CocoMetric(metric="keypoints")
    with pytest.raises(KeyError, match="metric_items"):
        CocoMetric(metric_items=["mAP_xl"])


def test_proposal_nums_set_max_dets(coco_data: Any) -> None:
    dataset, results = coco_data
    out = CocoMetric(metric="bbox", proposal_nums=(1, 2, 3), backend="pycocotools",
                     metric_items=["mAP", "AR@1", "AR@2", "AR@3", "AR_l@3"]).evaluate(results, dataset)
    assert set(out) == {"bbox_mAP", "bbox_AR@1", "bbox_AR@2", "bbox_AR@3", "bbox_AR_l@3",
                        "bbox_mAP_copypaste"}
    assert out["bbox_AR@1"] <= out["bbox_AR@2"] <= out["bbox_AR@3"]
    with contextlib.redirect_stdout(io.StringIO()):
        dets = results_to_coco_json(results, dataset.img_ids, CAT_IDS)
        ev = COCOeval(dataset.coco, dataset.coco.loadRes(dets), "bbox")
        ev.params.maxDets = [1, 2, 3]
        ev.evaluate()
        ev.accumulate()
    precision = ev.eval["precision"][:, :, :, 0, -1]  # AP at the last maxDets, as the brief asks
    assert out["bbox_mAP"] == float(f"{precision[precision > -1].mean():.3f}")


def test_through_coco_dataset(coco_data: Any, tmp_path: Path) -> None:
    from segdet.data.datasets.coco import CocoDataset

    dataset, results = coco_data
    real = CocoDataset(ann_file=str(tmp_path / "instances.json"), pipeline=[], classes=NAMES, test_mode=True)
    assert (real.cat_ids, real.img_ids) == (CAT_IDS, dataset.img_ids)
    out = real.evaluate(results, metric=["bbox", "segm"], classwise=True)
    assert out == CocoMetric(metric=["bbox", "segm"]).evaluate(results, dataset)
    assert out["bbox_mAP"] > 0 and isinstance(out["segm_mAP_copypaste"], str)


@pytest.mark.parametrize("backend", BACKENDS)
def test_ground_truth_left_untouched(coco_data: Any, backend: str) -> None:
    dataset, results = coco_data
    before = json.dumps(dataset.coco.dataset, sort_keys=True)
    CocoMetric(metric=["bbox", "segm"], backend=backend).evaluate(results, dataset)
    assert json.dumps(dataset.coco.dataset, sort_keys=True) == before  # no 'ignore' flags written back


def test_bool_mask_tensors_and_mmdet_tuples_give_the_same_segm(coco_data: Any) -> None:
    """What a Mask R-CNN returns (bool (N, H, W) Tensors) and MMDetection 2.x's
    ``(bbox_results, segm_results)`` tuples (RLE per class, optionally with mask scores) agree."""
    dataset, results = coco_data
    tensors = [{**r, "masks": torch.from_numpy(r["masks"])} for r in results]
    tuples, tuples_scored = [], []
    for r in results:
        dets = np.concatenate([r["bboxes"].numpy(), r["scores"].numpy()[:, None]], 1)
        labels = r["labels"].numpy()
        rles = mask_utils.encode(np.asfortranarray(r["masks"].transpose(1, 2, 0).astype(np.uint8)))
        bbox_res = [dets[labels == k] for k in range(3)]
        segm_res = [[rles[i] for i in np.flatnonzero(labels == k)] for k in range(3)]
        tuples.append((bbox_res, segm_res))
        tuples_scored.append((bbox_res, (segm_res, [d[:, 4] for d in bbox_res])))
    metric = CocoMetric(metric=["bbox", "segm"], backend="pycocotools")
    reference = metric.evaluate(results, dataset)
    assert 0 < reference["segm_mAP"] < 1
    assert metric.evaluate(tensors, dataset) == reference
    assert metric.evaluate(tuples, dataset) == metric.evaluate(tuples_scored, dataset)
    # per-class order of the tuple form changes score ties only: same numbers to 3 decimals
    assert metric.evaluate(tuples, dataset)["segm_mAP"] == pytest.approx(reference["segm_mAP"], abs=2e-3)


def test_one_copy_encoding_equals_per_mask_encoding() -> None:
    from segdet.evaluation.coco_results import encode_masks

    rng = np.random.default_rng(3)
    masks = rng.random((5, 17, 23)) > 0.6
    fast = encode_masks(torch.from_numpy(masks))
    slow = [mask_utils.encode(np.asfortranarray(m.astype(np.uint8))) for m in masks]
    assert [r["counts"] for r in fast] == [r["counts"].decode("ascii") for r in slow]
    assert all(r["size"] == [17, 23] for r in fast)
    np.testing.assert_array_equal(mask_utils.decode(fast).transpose(2, 0, 1), masks)
    assert encode_masks(torch.zeros(0, 17, 23, dtype=torch.bool)) == []
    np.testing.assert_array_equal(  # uint8 / float 0-1 masks are thresholded at > 0
        mask_utils.decode(encode_masks(masks.astype(np.float32))).transpose(2, 0, 1), masks)


def test_jsonfile_prefix_and_format_only_write_bbox_and_segm(coco_data: Any, tmp_path: Path) -> None:
    dataset, results = coco_data
    prefix = str(tmp_path / "out" / "res")
    assert CocoMetric(format_only=True, jsonfile_prefix=prefix).evaluate(results, dataset) == {}
    bbox = json.loads(Path(f"{prefix}.bbox.json").read_text())
    segm = json.loads(Path(f"{prefix}.segm.json").read_text())
    n = sum(len(r["bboxes"]) for r in results)
    assert len(bbox) == len(segm) == n
    assert set(bbox[0]) == {"image_id", "category_id", "score", "bbox"}
    assert set(segm[0]) == {"image_id", "category_id", "score", "segmentation"}
    assert isinstance(segm[0]["segmentation"]["counts"], str) and segm[0]["segmentation"]["size"] == [H, W]
    # the written files evaluate to the same numbers in plain pycocotools
    with contextlib.redirect_stdout(io.StringIO()):
        ev = COCOeval(dataset.coco, dataset.coco.loadRes(f"{prefix}.segm.json"), "segm")
        ev.params.maxDets = [100, 300, 1000]
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    out = CocoMetric(metric="segm", backend="pycocotools", jsonfile_prefix=str(tmp_path / "again"))
    assert out.evaluate(results, dataset)["segm_mAP"] == float(f"{ev.stats[0]:.3f}")
    assert (tmp_path / "again.segm.json").exists()
    no_masks = [{k: v for k, v in r.items() if k != "masks"} for r in results]
    CocoMetric(format_only=True, jsonfile_prefix=str(tmp_path / "boxes")).evaluate(no_masks, dataset)
    assert (tmp_path / "boxes.bbox.json").exists() and not (tmp_path / "boxes.segm.json").exists()
    with pytest.raises(ValueError, match="jsonfile_prefix"):
        CocoMetric(format_only=True)


def test_masks_not_at_the_original_size_are_refused(coco_data: Any) -> None:
    dataset, results = coco_data
    small = [{**r, "masks": r["masks"][:, : H // 2]} for r in results]
    with pytest.raises(ValueError, match="original image size"):
        CocoMetric(metric="segm", backend="pycocotools").evaluate(small, dataset)


def test_encode_mask_results_keeps_everything_else() -> None:
    from segdet.evaluation.coco_results import encode_mask_results

    masks = torch.zeros(2, 6, 7, dtype=torch.bool)
    masks[0, 1:3, 2:5] = True
    r = dict(bboxes=torch.zeros(2, 4), scores=torch.ones(2), labels=torch.zeros(2, dtype=torch.long), masks=masks)
    enc = encode_mask_results(r)
    assert enc["bboxes"] is r["bboxes"] and r["masks"] is masks  # a new dict; the input stays
    assert [int(mask_utils.area(m)) for m in enc["masks"]] == [6, 0]
    assert encode_mask_results(enc) is enc
    boxes_only = {k: v for k, v in r.items() if k != "masks"}
    assert encode_mask_results(boxes_only) is boxes_only
    seg = torch.zeros(4, 4, dtype=torch.long)
    assert encode_mask_results(seg) is seg
