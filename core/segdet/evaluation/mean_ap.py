"""PASCAL-VOC-style mean average precision (MMDetection 2.x ``eval_map``) over numpy arrays."""
from __future__ import annotations

import logging
from collections.abc import Sequence
from multiprocessing import get_context
from typing import Any, Optional

import numpy as np

__all__ = ["eval_map", "average_precision", "tpfp_default", "bbox_overlaps", "print_map_summary"]

_EPS = np.finfo(np.float32).eps
AreaRange = tuple[Optional[float], Optional[float]]


def _log(msg: str, logger: logging.Logger | str | None) -> None:
    if isinstance(logger, logging.Logger):
        logger.info(msg)
    elif logger != "silent":
        print(msg)


def bbox_overlaps(bboxes1: np.ndarray, bboxes2: np.ndarray, use_legacy_coordinate: bool = False,
                  eps: float = 1e-6) -> np.ndarray:
    """IoU of every pair: (n, 4) x (k, 4) x1y1x2y2 -> (n, k).

    ``use_legacy_coordinate`` measures widths as ``x2 - x1 + 1`` (pixel-inclusive VOC boxes).
    """
    extra = 1.0 if use_legacy_coordinate else 0.0
    b1 = np.asarray(bboxes1, np.float32)[:, None, :4]
    b2 = np.asarray(bboxes2, np.float32)[None, :, :4]
    area1 = (b1[..., 2] - b1[..., 0] + extra) * (b1[..., 3] - b1[..., 1] + extra)
    area2 = (b2[..., 2] - b2[..., 0] + extra) * (b2[..., 3] - b2[..., 1] + extra)
    w = np.maximum(np.minimum(b1[..., 2], b2[..., 2]) - np.maximum(b1[..., 0], b2[..., 0]) + extra, 0)
    h = np.maximum(np.minimum(b1[..., 3], b2[..., 3]) - np.maximum(b1[..., 1], b2[..., 1]) + extra, 0)
    overlap = w * h
    return overlap / np.maximum(area1 + area2 - overlap, eps)


def _areas(bboxes: np.ndarray, extra: float) -> np.ndarray:
    return (bboxes[:, 2] - bboxes[:, 0] + extra) * (bboxes[:, 3] - bboxes[:, 1] + extra)


def average_precision(recalls: np.ndarray, precisions: np.ndarray, mode: str = "area") -> np.ndarray | float:
    """AP from a precision/recall curve.

    Args:
        recalls: (num_dets,) or (num_scales, num_dets), non-decreasing along detections.
        precisions: same shape.
        mode: ``'area'`` (area under the monotone precision envelope, VOC2010+) or ``'11points'``
            (mean of the best precision at recall >= 0, 0.1, ..., 1, VOC2007).

    Returns:
        float32 AP: a scalar for 1-d input, else (num_scales,).
    """
    if mode not in ("area", "11points"):
        raise ValueError(f"average_precision mode must be 'area' or '11points', got {mode!r}")
    recalls, precisions = np.asarray(recalls), np.asarray(precisions)
    no_scale = recalls.ndim == 1
    if no_scale:
        recalls, precisions = recalls[None], precisions[None]
    num_scales = recalls.shape[0]
    ap = np.zeros(num_scales, dtype=np.float32)
    if mode == "area":
        mrec = np.hstack([np.zeros((num_scales, 1)), recalls, np.ones((num_scales, 1))])
        mpre = np.hstack([np.zeros((num_scales, 1)), precisions, np.zeros((num_scales, 1))])
        mpre = np.flip(np.maximum.accumulate(np.flip(mpre, 1), axis=1), 1)  # precision envelope
        for i in range(num_scales):
            ind = np.where(mrec[i, 1:] != mrec[i, :-1])[0]
            ap[i] = np.sum((mrec[i, ind + 1] - mrec[i, ind]) * mpre[i, ind + 1])
    else:
        for i in range(num_scales):
            for thr in np.arange(0, 1 + 1e-3, 0.1):
                precs = precisions[i, recalls[i, :] >= thr]
                ap[i] += precs.max() if precs.size > 0 else 0
        ap /= 11
    return ap[0] if no_scale else ap


def tpfp_default(det_bboxes: np.ndarray, gt_bboxes: np.ndarray, gt_bboxes_ignore: np.ndarray | None = None,
                 iou_thr: float = 0.5, area_ranges: Sequence[AreaRange] | None = None,
                 use_legacy_coordinate: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """True / false positives of one image's detections of one class.

    Detections are matched greedily by descending score to the unmatched ground truth of highest
    IoU (>= ``iou_thr``); a match to an ignored box (difficult, or outside the area range) counts as
    neither; a second match to a covered box is a false positive. Unmatched detections outside the
    area range are not counted for that range.

    Args:
        det_bboxes: (m, 5) x1y1x2y2 + score.
        gt_bboxes: (n, 4); gt_bboxes_ignore: (k, 4) or None.
        area_ranges: ``[(min_area, max_area), ...]`` or None (one unbounded range).

    Returns:
        ``(tp, fp)``, each float32 (num_scales, m) of 0/1.
    """
    extra = 1.0 if use_legacy_coordinate else 0.0
    ignore = np.zeros((0, 4), np.float32) if gt_bboxes_ignore is None else gt_bboxes_ignore
    gt_ignore_inds = np.concatenate([np.zeros(len(gt_bboxes), bool), np.ones(len(ignore), bool)])
    gts = np.vstack([np.asarray(gt_bboxes, np.float32).reshape(-1, 4), np.asarray(ignore, np.float32).reshape(-1, 4)])
    ranges: list[AreaRange] = list(area_ranges) if area_ranges else [(None, None)]
    m = det_bboxes.shape[0]
    tp = np.zeros((len(ranges), m), dtype=np.float32)
    fp = np.zeros((len(ranges), m), dtype=np.float32)
    det_areas = _areas(det_bboxes, extra) if m else np.zeros(0)
    if len(gts) == 0:
        for k, (lo, hi) in enumerate(ranges):
            if lo is None or hi is None:
                fp[k] = 1
            else:
                fp[k, (det_areas >= lo) & (det_areas < hi)] = 1
        return tp, fp
    if m == 0:
        return tp, fp
    ious = bbox_overlaps(det_bboxes[:, :4], gts, use_legacy_coordinate)
    ious_max, ious_argmax = ious.max(axis=1), ious.argmax(axis=1)
    order = np.argsort(-det_bboxes[:, -1])
    gt_areas = _areas(gts, extra)
    for k, (lo, hi) in enumerate(ranges):
        covered = np.zeros(len(gts), bool)
        unbounded = lo is None or hi is None
        area_ignore = np.zeros(len(gts), bool) if unbounded else (gt_areas < lo) | (gt_areas >= hi)
        for i in order:
            if ious_max[i] >= iou_thr:
                j = ious_argmax[i]
                if gt_ignore_inds[j] or area_ignore[j]:
                    continue
                if covered[j]:
                    fp[k, i] = 1
                else:
                    covered[j] = True
                    tp[k, i] = 1
            elif unbounded or lo <= det_areas[i] < hi:  # type: ignore[operator]
                fp[k, i] = 1
    return tp, fp


def _class_inputs(det_results: Sequence[Sequence[np.ndarray]], annotations: Sequence[dict[str, Any]],
                  class_id: int) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    dets = [np.asarray(r[class_id], np.float32).reshape(-1, 5) for r in det_results]
    gts, ignores = [], []
    for ann in annotations:
        labels = np.asarray(ann["labels"])
        gts.append(np.asarray(ann["bboxes"], np.float32).reshape(-1, 4)[labels == class_id])
        if ann.get("labels_ignore") is not None:
            keep = np.asarray(ann["labels_ignore"]) == class_id
            ignores.append(np.asarray(ann["bboxes_ignore"], np.float32).reshape(-1, 4)[keep])
        else:
            ignores.append(np.zeros((0, 4), np.float32))
    return dets, gts, ignores


def _tpfp_star(args: tuple[Any, ...]) -> tuple[np.ndarray, np.ndarray]:
    return tpfp_default(*args)


def eval_map(det_results: Sequence[Sequence[np.ndarray]], annotations: Sequence[dict[str, Any]],
             scale_ranges: Sequence[tuple[float, float]] | None = None, iou_thr: float = 0.5,
             dataset: str | Sequence[str] | None = None, logger: logging.Logger | str | None = None,
             nproc: int = 1, use_legacy_coordinate: bool = False,
             eval_mode: str | None = None) -> tuple[Any, list[dict[str, Any]]]:
    """Mean AP over classes, as MMDetection 2.x ``eval_map``.

    Args:
        det_results: per image, per class an (N, 5) array x1y1x2y2 + score.
        annotations: per image ``dict(bboxes (K,4), labels (K,), bboxes_ignore (I,4), labels_ignore (I,))``
            (the ignore keys optional).
        scale_ranges: ``[(min_side, max_side), ...]``; boxes are binned by area ``side**2``
            (default None: one range, all sizes).
        iou_thr: IoU of a true positive (default 0.5).
        dataset: ``'voc07'`` selects 11-point AP; a sequence gives the class names of the table.
        logger: where the table goes (default None: print); ``'silent'`` prints nothing.
        nproc: processes computing the per-image matches (default 1: in process).
        use_legacy_coordinate: pixel-inclusive areas ``(x2 - x1 + 1) * (y2 - y1 + 1)``, as the VOC
            devkit (default False).
        eval_mode: ``'area'`` or ``'11points'``, overriding what ``dataset`` implies.

    Returns:
        ``(mean_ap, eval_results)``: mean over classes with ground truth (a float, or a list per scale
        range), and per class ``dict(num_gts, num_dets, recall, precision, ap)``.
    """
    if len(det_results) != len(annotations):
        raise ValueError(f"{len(det_results)} detection results for {len(annotations)} annotations")
    mode = eval_mode or ("11points" if dataset == "voc07" else "area")
    num_classes = len(det_results[0]) if det_results else 0
    num_scales = len(scale_ranges) if scale_ranges else 1
    area_ranges = [(lo ** 2, hi ** 2) for lo, hi in scale_ranges] if scale_ranges else None
    extra = 1.0 if use_legacy_coordinate else 0.0
    pool = get_context("spawn").Pool(nproc) if nproc > 1 else None
    eval_results = []
    try:
        for c in range(num_classes):
            dets, gts, ignores = _class_inputs(det_results, annotations, c)
            args = [(d, g, ig, iou_thr, area_ranges, use_legacy_coordinate)
                    for d, g, ig in zip(dets, gts, ignores)]
            tpfp = pool.map(_tpfp_star, args) if pool is not None else [_tpfp_star(a) for a in args]
            num_gts = np.zeros(num_scales, dtype=int)
            for g in gts:
                if area_ranges is None:
                    num_gts[0] += len(g)
                else:
                    a = _areas(g, extra)
                    for k, (lo, hi) in enumerate(area_ranges):
                        num_gts[k] += int(np.sum((a >= lo) & (a < hi)))
            all_dets = np.vstack(dets) if dets else np.zeros((0, 5), np.float32)
            order = np.argsort(-all_dets[:, -1], kind="stable")
            tp = np.cumsum(np.hstack([t for t, _ in tpfp] or [np.zeros((num_scales, 0))])[:, order], axis=1)
            fp = np.cumsum(np.hstack([f for _, f in tpfp] or [np.zeros((num_scales, 0))])[:, order], axis=1)
            recalls = tp / np.maximum(num_gts[:, None], _EPS)
            precisions = tp / np.maximum(tp + fp, _EPS)
            if scale_ranges is None:
                recalls, precisions, num_gts = recalls[0], precisions[0], num_gts.item()
            eval_results.append(dict(num_gts=num_gts, num_dets=len(all_dets), recall=recalls,
                                     precision=precisions, ap=average_precision(recalls, precisions, mode)))
    finally:
        if pool is not None:
            pool.close()
    mean_ap: Any
    if scale_ranges is not None:
        all_ap = np.vstack([r["ap"] for r in eval_results]) if eval_results else np.zeros((0, num_scales))
        all_gts = np.vstack([r["num_gts"] for r in eval_results]) if eval_results else all_ap
        mean_ap = [float(all_ap[all_gts[:, k] > 0, k].mean()) if np.any(all_gts[:, k] > 0) else 0.0
                   for k in range(num_scales)]
    else:
        aps = [r["ap"] for r in eval_results if r["num_gts"] > 0]
        mean_ap = float(np.array(aps).mean()) if aps else 0.0
    if logger != "silent":
        print_map_summary(mean_ap, eval_results, dataset, area_ranges, logger=logger)
    return mean_ap, eval_results


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], footer: Sequence[str]) -> str:
    widths = [max(len(str(r[j])) for r in [header, *rows, footer]) for j in range(len(header))]
    line = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    fmt = "| " + " | ".join(f"{{:<{w}}}" for w in widths) + " |"
    return "\n".join([line, fmt.format(*header), line, *(fmt.format(*r) for r in rows), line,
                      fmt.format(*footer), line])


def print_map_summary(mean_ap: Any, results: Sequence[dict[str, Any]],
                      dataset: str | Sequence[str] | None = None,
                      scale_ranges: Sequence[AreaRange] | None = None,
                      logger: logging.Logger | str | None = None) -> None:
    """Log one table per scale range: class, gts, dets, final recall, ap; last row the mAP."""
    num_scales = len(results[0]["ap"]) if results and isinstance(results[0]["ap"], np.ndarray) else 1
    names = (list(dataset) if dataset is not None and not isinstance(dataset, str)
             else [str(i) for i in range(len(results))])
    means = mean_ap if isinstance(mean_ap, list) else [mean_ap]
    for k in range(num_scales):
        rows = []
        for name, r in zip(names, results):
            gts = r["num_gts"] if np.ndim(r["num_gts"]) == 0 else r["num_gts"][k]
            rec = np.atleast_2d(r["recall"])[k] if np.size(r["recall"]) else np.zeros(0)
            ap = r["ap"] if np.ndim(r["ap"]) == 0 else r["ap"][k]
            rows.append([name, str(int(gts)), str(r["num_dets"]),
                         f"{rec[-1] if rec.size else 0.0:.3f}", f"{float(ap):.3f}"])
        title = f"Scale range {scale_ranges[k]}\n" if scale_ranges else ""
        _log("\n" + title + _table(["class", "gts", "dets", "recall", "ap"], rows,
                                   ["mAP", "", "", "", f"{means[k]:.3f}"]), logger)
