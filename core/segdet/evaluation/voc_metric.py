"""PASCAL VOC mAP of detections against a data set's ``get_ann_info`` (MMDetection 2.x ``evaluate``)."""
from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from .mean_ap import eval_map

__all__ = ["VOCMetric", "results_to_per_class"]

_METRICS = ("mAP",)
_MODES = ("area", "11points")


def _to_numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):  # torch.Tensor, without importing torch here
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def results_to_per_class(result: Any, num_classes: int) -> list[np.ndarray]:
    """One image's detections as MMDetection's per-class list of float32 (N, 5) x1y1x2y2+score arrays.

    ``result`` is ``dict(bboxes (N,4), scores (N,), labels (N,))`` (tensors or arrays) or already
    a per-class list, returned as arrays.
    """
    if not isinstance(result, dict):
        if len(result) != num_classes:
            raise ValueError(f"per-class result has {len(result)} entries for {num_classes} classes")
        return [_to_numpy(r).astype(np.float32).reshape(-1, 5) for r in result]
    bboxes = _to_numpy(result["bboxes"]).astype(np.float32).reshape(-1, 4)
    scores = _to_numpy(result["scores"]).astype(np.float32).reshape(-1, 1)
    labels = _to_numpy(result["labels"]).astype(np.int64).reshape(-1)
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels outside [0, {num_classes}) in a detection result: {np.unique(labels)}")
    dets = np.concatenate([bboxes, scores], axis=1)
    return [dets[labels == c] for c in range(num_classes)]


class VOCMetric:
    """VOC-style mAP at one or several IoU thresholds.

    Args:
        metric: ``'mAP'`` (default; the only one).
        iou_thr: IoU threshold or list of them (default 0.5); reports ``AP50``, ``AP75``, ...
            and ``mAP``, their mean, first.
        scale_ranges: ``[(min_side, max_side), ...]`` to also report AP per box-size range as
            ``AP50_<min>-<max>`` (default None).
        eval_mode: ``'area'`` (VOC2010+, default) or ``'11points'`` (VOC2007).
        use_legacy_coordinate: pixel-inclusive box areas ``(x2 - x1 + 1) * (y2 - y1 + 1)`` as the VOC
            devkit, which :class:`VOCDataset` uses (default False, as MMDetection's ``XMLDataset``).
        proposal_nums: accepted so that MMDetection configs' ``evaluation=dict(proposal_nums=...)``
            load; its ``recall`` metric is not provided.

    ``evaluate(results, dataset)`` reads ``dataset.CLASSES``, ``len(dataset)`` and
    ``dataset.get_ann_info(i)`` (``bboxes``, ``labels``, ``bboxes_ignore``, ``labels_ignore``);
    ``results`` has one ``dict(bboxes, scores, labels)`` per image, in data set order.

    Example::

        VOCMetric(iou_thr=[0.5, 0.75]).evaluate(results, dataset)  # {'mAP': .., 'AP50': .., 'AP75': ..}
    """

    def __init__(self, metric: str | Sequence[str] = "mAP", iou_thr: float | Sequence[float] = 0.5,
                 scale_ranges: Sequence[tuple[float, float]] | None = None, eval_mode: str = "area",
                 use_legacy_coordinate: bool = False,
                 proposal_nums: Sequence[int] = (100, 300, 1000)) -> None:
        metrics = [metric] if isinstance(metric, str) else list(metric)
        unknown = [m for m in metrics if m not in _METRICS]
        if unknown or len(metrics) != 1:
            raise KeyError(f"VOC metric {metric!r} is not supported; choose one of {list(_METRICS)}")
        if eval_mode not in _MODES:
            raise KeyError(f"eval_mode {eval_mode!r} is not one of {list(_MODES)}")
        self.metric = metrics[0]
        self.iou_thrs = [float(iou_thr)] if isinstance(iou_thr, (int, float)) else [float(t) for t in iou_thr]
        if not self.iou_thrs:
            raise ValueError("iou_thr must hold at least one threshold")
        self.scale_ranges = [(float(lo), float(hi)) for lo, hi in scale_ranges] if scale_ranges else None
        self.eval_mode = eval_mode
        self.use_legacy_coordinate = use_legacy_coordinate
        self.proposal_nums = tuple(proposal_nums)

    def evaluate(self, results: Sequence[Any], dataset: Any,
                 logger: logging.Logger | None = None) -> dict[str, float]:
        """``{'mAP': mean over thresholds, 'AP50': ..., ...}`` (values rounded to 3 decimals)."""
        if len(results) != len(dataset):
            raise ValueError(f"{len(results)} results for a data set of {len(dataset)} images")
        num_classes = len(dataset.CLASSES)
        det_results = [results_to_per_class(r, num_classes) for r in results]
        annotations = [dataset.get_ann_info(i) for i in range(len(dataset))]
        out: dict[str, float] = {}
        mean_aps = []
        for thr in self.iou_thrs:
            msg = f"\n{'-' * 15}iou_thr: {thr}{'-' * 15}"
            if logger is None:
                print(msg)
            else:
                logger.info(msg)
            mean_ap, _ = eval_map(det_results, annotations, scale_ranges=self.scale_ranges, iou_thr=thr,
                                  dataset=list(dataset.CLASSES), logger=logger,
                                  use_legacy_coordinate=self.use_legacy_coordinate,
                                  eval_mode=self.eval_mode)
            key = f"AP{int(round(thr * 100)):02d}"
            if self.scale_ranges is not None:
                for (lo, hi), ap in zip(self.scale_ranges, mean_ap):
                    out[f"{key}_{lo:g}-{hi:g}"] = round(float(ap), 3)
                mean_ap = float(np.mean(mean_ap))
            out[key] = round(float(mean_ap), 3)
            mean_aps.append(float(mean_ap))
        return {"mAP": float(sum(mean_aps) / len(mean_aps)), **out}
