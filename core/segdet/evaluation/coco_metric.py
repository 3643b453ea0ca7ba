"""COCO-style bbox / segm / proposal metrics (MMDetection 2.x names) over pycocotools or faster-coco-eval."""
from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import warnings
import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np

from .coco_results import (
    CocoDetections,
    collect_detections,
    load_detections,
    results_to_coco_json,
    unpack_result,
)

__all__ = ["CocoMetric", "results_to_coco_json", "summary_stats", "classwise_ap"]

_METRICS = ("bbox", "segm", "proposal")
_BACKENDS = ("faster_coco_eval", "pycocotools")
_AREAS = (("s", "small"), ("m", "medium"), ("l", "large"))


def _log(msg: str, logger: logging.Logger | None) -> None:
    if logger is None:
        print(msg)
    else:
        logger.info(msg)


def _mean_valid(s: np.ndarray) -> float:
    valid = s[s > -1]
    return float(valid.mean()) if valid.size else -1.0


def summary_stats(coco_eval: Any, prefix: str = "") -> dict[str, float]:
    """The COCO summary numbers of an accumulated COCOeval, named as MMDetection 2.x names them.

    As pycocotools' ``summarize`` with MMDetection 2.x's ``maxDets = [100, 300, 1000]``: ``mAP``
    (``stats[0]``) is AP at 100 detections per image; ``mAP_50``, ``mAP_75``, ``mAP_s``, ``mAP_m``,
    ``mAP_l`` are at the last ``maxDets``; ``AR@n`` for every ``n`` in ``maxDets``; ``AR_s@N``,
    ``AR_m@N``, ``AR_l@N`` at the last ``N``. When ``maxDets`` holds no 100, ``mAP`` is at the last
    one (pycocotools would report -1 there).
    Computed from ``eval['precision']`` / ``eval['recall']`` so that both backends agree; a value
    with nothing to average (no ground truth in range) is -1, as in pycocotools.
    """
    p = coco_eval.params
    precision, recall = coco_eval.eval["precision"], coco_eval.eval["recall"]  # TxRxKxAxM, TxKxAxM
    thrs = np.asarray(p.iouThrs)
    labels = list(p.areaRngLbl)
    max_dets = list(p.maxDets)
    last = len(max_dets) - 1

    def ap(iou: float | None = None, area: str = "all", m: int = last) -> float:
        s = precision[..., labels.index(area), m]
        if iou is not None:
            s = s[np.isclose(thrs, iou)]
        return _mean_valid(s)

    def ar(m: int, area: str = "all") -> float:
        return _mean_valid(recall[..., labels.index(area), m])

    stats = {"mAP": ap(m=_map_index(max_dets)), "mAP_50": ap(0.5), "mAP_75": ap(0.75)}
    stats.update({f"mAP_{short}": ap(area=long) for short, long in _AREAS})
    stats.update({f"AR@{n}": ar(m) for m, n in enumerate(max_dets)})
    stats.update({f"AR_{short}@{max_dets[-1]}": ar(last, long) for short, long in _AREAS})
    return {prefix + k: v for k, v in stats.items()}


def _map_index(max_dets: Sequence[int]) -> int:
    """Index into ``maxDets`` of the headline ``mAP``: 100 detections (pycocotools' ``stats[0]``)."""
    return list(max_dets).index(100) if 100 in max_dets else len(max_dets) - 1


def classwise_ap(coco_eval: Any) -> np.ndarray:
    """AP per category of ``params.catIds`` (area all, last maxDets), NaN where nothing is valid."""
    precision = coco_eval.eval["precision"]
    aind = list(coco_eval.params.areaRngLbl).index("all")
    out = np.full(precision.shape[2], np.nan)
    for k in range(precision.shape[2]):
        v = _mean_valid(precision[:, :, k, aind, -1])
        out[k] = v if v > -1 else np.nan
    return out


def _format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(r[j])) for r in [header, *rows]) for j in range(len(header))]
    line = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    fmt = "| " + " | ".join(f"{{:<{w}}}" for w in widths) + " |"
    return "\n".join([line, fmt.format(*header), line, *(fmt.format(*r) for r in rows), line])


def _classwise_table(names: Sequence[str], aps: np.ndarray, columns: int = 3) -> str:
    cells = [(n, "nan" if np.isnan(a) else f"{a:.3f}") for n, a in zip(names, aps)]
    per_row = max(1, min(columns, len(cells)))
    rows = []
    for start in range(0, len(cells), per_row):
        chunk = cells[start:start + per_row]
        chunk = chunk + [("", "")] * (per_row - len(chunk))
        rows.append([x for cell in chunk for x in cell])
    return _format_table(["category", "AP"] * per_row, rows)


def _summary_lines(stats: dict[str, float], params: Any) -> str:
    """pycocotools-style summary lines of :func:`summary_stats` values."""
    thrs = np.asarray(params.iouThrs)
    max_dets = list(params.maxDets)
    span = f"{thrs[0]:0.2f}:{thrs[-1]:0.2f}"
    fmt = " {:<18} {} @[ IoU={:<9} | area={:>6s} | maxDets={:>4d} ] = {:0.3f}"
    lines = [fmt.format("Average Precision", "(AP)", span, "all", max_dets[_map_index(max_dets)], stats["mAP"])]
    for key, iou, area in (("mAP_50", "0.50", "all"), ("mAP_75", "0.75", "all"),
                           *((f"mAP_{s}", span, long) for s, long in _AREAS)):
        lines.append(fmt.format("Average Precision", "(AP)", iou, area, max_dets[-1], stats[key]))
    for n in max_dets:
        lines.append(fmt.format("Average Recall", "(AR)", span, "all", n, stats[f"AR@{n}"]))
    for s, long in _AREAS:
        lines.append(fmt.format("Average Recall", "(AR)", span, long, max_dets[-1],
                                stats[f"AR_{s}@{max_dets[-1]}"]))
    return "\n".join(lines)


class CocoMetric:
    """COCO AP/AR of detections (``bbox``), instance masks (``segm``) or class-agnostic proposals.

    Args:
        metric: ``'bbox'``, ``'segm'``, ``'proposal'`` or a list of them (default ``'bbox'``).
        classwise: also log a per-category AP table (default False).
        iou_thrs: IoU thresholds (default None: 0.50:0.05:0.95).
        proposal_nums: ``params.maxDets`` (default (100, 300, 1000)). As in MMDetection 2.x,
            ``mAP`` is AP at 100 detections per image (pycocotools' first statistic; the last
            number when 100 is not among them), ``mAP_50`` ... ``mAP_l`` at the last number; AR is
            reported at each (``AR@100`` ...), per area at the last (``AR_s@1000`` ...).
        metric_items: names to report (default: ``mAP, mAP_50, mAP_75, mAP_s, mAP_m, mAP_l`` for
            bbox/segm, prefixed by the metric, and ``AR@100, AR@300, AR@1000, AR_s@1000, AR_m@1000,
            AR_l@1000`` for proposals, unprefixed, as MMDetection 2.x).
        backend: ``'faster_coco_eval'`` (default; falls back to pycocotools when not importable) or
            ``'pycocotools'``.
        jsonfile_prefix: also write the detections as COCO result files ``<prefix>.bbox.json`` and,
            when the results hold masks, ``<prefix>.segm.json`` (``<prefix>.proposal.json`` for
            proposal-only results). Default None: write nothing.
        format_only: only write those files (``jsonfile_prefix`` is then required), compute no
            number; ``evaluate`` returns ``{}``. For test sets without annotations.
        ndigits: decimals the returned numbers are rounded to (default 3, as MMDetection);
            None returns them at full precision. The full-precision numbers of the last
            ``evaluate`` are also kept in :attr:`full_stats` whatever ``ndigits`` is.

    Results are one per image: ``dict(bboxes (N, 4), scores (N,), labels (N,))`` plus, for
    ``segm``, ``masks``: a bool (N, H, W) Tensor or array at the original image size, or a list of
    N RLE dicts; MMDetection 2.x's per-class lists and ``(bbox_results, segm_results)`` tuples too.

    ``evaluate(results, dataset)`` needs ``dataset.coco`` (a COCO ground truth), ``dataset.cat_ids``
    (label index -> category id), ``dataset.img_ids`` (one per result, in order) and
    ``dataset.CLASSES``. It returns e.g. ``{'bbox_mAP': 0.372, ..., 'bbox_mAP_copypaste': '0.372 ...'}``
    (values rounded to 3 decimals as MMDetection does; the copypaste entry is a string). Results
    without any detection give zeros.

    Example::

        metric = CocoMetric(metric=['bbox', 'segm'], classwise=True)
        metric.evaluate(results, dataset)    # {'bbox_mAP': ..., 'segm_mAP': ..., ...}
    """

    def __init__(self, metric: str | Sequence[str] = "bbox", classwise: bool = False,
                 iou_thrs: Sequence[float] | None = None,
                 proposal_nums: Sequence[int] = (100, 300, 1000),
                 metric_items: str | Sequence[str] | None = None,
                 backend: str = "faster_coco_eval", jsonfile_prefix: str | None = None,
                 format_only: bool = False, ndigits: int | None = 3) -> None:
        metrics = [metric] if isinstance(metric, str) else list(metric)
        unknown = [m for m in metrics if m not in _METRICS]
        if unknown or not metrics:
            raise KeyError(f"unknown COCO metric(s) {unknown or metrics}; choose from {list(_METRICS)}")
        if backend not in _BACKENDS:
            raise KeyError(f"unknown COCO evaluation backend {backend!r}; choose from {list(_BACKENDS)}")
        if not proposal_nums:
            raise ValueError("proposal_nums must hold at least one number of detections")
        self.metrics = metrics
        self.classwise = classwise
        self.iou_thrs = (np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
                         if iou_thrs is None else np.asarray(list(iou_thrs), dtype=np.float64))
        self.proposal_nums = [int(n) for n in proposal_nums]
        self.metric_items = [metric_items] if isinstance(metric_items, str) else metric_items
        self.backend = backend
        if format_only and not jsonfile_prefix:
            raise ValueError("CocoMetric: format_only=True needs jsonfile_prefix (where the result files go), "
                             "e.g. --eval-options jsonfile_prefix=work_dirs/results")
        self.jsonfile_prefix = jsonfile_prefix
        self.format_only = format_only
        self.ndigits = ndigits
        self.full_stats: dict[str, float] = {}  # every summary number of the last evaluate, unrounded
        self._use_faster = backend == "faster_coco_eval" and _faster_available()
        if backend == "faster_coco_eval" and not self._use_faster:
            warnings.warn("faster_coco_eval is not importable; CocoMetric uses pycocotools", stacklevel=2)
        self._check_items()

    def _all_items(self) -> list[str]:
        n = self.proposal_nums
        return (["mAP", "mAP_50", "mAP_75", "mAP_s", "mAP_m", "mAP_l"] + [f"AR@{k}" for k in n]
                + [f"AR_{s}@{n[-1]}" for s, _ in _AREAS])

    def _items(self, metric: str) -> list[str]:
        if self.metric_items is not None:
            return list(self.metric_items)
        if metric == "proposal":
            n = self.proposal_nums
            return [f"AR@{k}" for k in n] + [f"AR_{s}@{n[-1]}" for s, _ in _AREAS]
        return ["mAP", "mAP_50", "mAP_75", "mAP_s", "mAP_m", "mAP_l"]

    def _check_items(self) -> None:
        if self.metric_items is None:
            return
        valid = self._all_items()
        bad = [i for i in self.metric_items if i not in valid]
        if bad:
            raise KeyError(f"metric_items {bad} are not COCO summary items; choose from {valid}")

    def _gt_coco(self, coco: Any) -> Any:
        """The ground truth as a COCO object of the backend (see :func:`_backend_gt`)."""
        return _backend_gt(coco, self._use_faster)

    def _run(self, gt: Any, dets: CocoDetections, iou_type: str, dataset: Any,
             use_cats: bool) -> Any:
        """Result COCO object + evaluate + accumulate, silencing the backends' progress chatter."""
        dt = load_detections(gt, dets)
        with contextlib.redirect_stdout(io.StringIO()):
            if self._use_faster:
                from faster_coco_eval import COCOeval_faster

                coco_eval = COCOeval_faster(gt, dt, iou_type, print_function=lambda *a: None)
            else:
                from pycocotools.cocoeval import COCOeval

                coco_eval = COCOeval(gt, dt, iou_type)
            coco_eval.params.catIds = list(dataset.cat_ids)
            coco_eval.params.imgIds = list(dataset.img_ids)
            coco_eval.params.maxDets = list(self.proposal_nums)
            coco_eval.params.iouThrs = self.iou_thrs
            coco_eval.params.useCats = int(use_cats)
            coco_eval.evaluate()
            coco_eval.accumulate()
        return coco_eval

    def format_results(self, results: Sequence[Any], dataset: Any, jsonfile_prefix: str,
                       collected: dict[str, CocoDetections] | None = None) -> dict[str, str]:
        """Write COCO result files; returns ``{'bbox': path, 'segm': path}`` (or ``'proposal'``).

        ``collected`` holds detections already gathered per kind (``evaluate`` passes them, so that
        masks are encoded once); kinds missing from it are collected from ``results``.
        """
        kinds = ["proposal"] if self.metrics == ["proposal"] else ["bbox"]
        if any(unpack_result(r)[3] is not None for r in results):
            kinds.append("segm")
        folder = os.path.dirname(os.path.abspath(jsonfile_prefix))
        os.makedirs(folder, exist_ok=True)
        written = {}
        for kind in kinds:
            dets = (collected or {}).get(kind)
            if dets is None:
                dets = collect_detections(results, dataset.img_ids, dataset.cat_ids, kind)
            path = f"{jsonfile_prefix}.{kind}.json"
            with open(path, "w") as f:
                json.dump(dets.to_json(), f)
            written[kind] = path
        return written

    def evaluate(self, results: Sequence[Any], dataset: Any,
                 logger: logging.Logger | None = None) -> dict[str, Any]:
        """COCO metrics of ``results`` (one per ``dataset.img_ids``) against ``dataset.coco``."""
        out: dict[str, Any] = {}
        self.full_stats = {}
        collected: dict[str, CocoDetections] = {}
        if not self.format_only:
            collected = {m: collect_detections(results, dataset.img_ids, dataset.cat_ids, m)
                         for m in self.metrics}
        if self.jsonfile_prefix:
            written = self.format_results(results, dataset, self.jsonfile_prefix, collected)
            _log("COCO result files: " + ", ".join(written.values()), logger)
        if self.format_only:
            return out
        gt = self._gt_coco(dataset.coco)
        for metric in self.metrics:
            dets = collected[metric]
            if metric == "segm":
                _check_mask_sizes(dets, gt)
            items = self._items(metric)
            prefix = "" if metric == "proposal" else f"{metric}_"
            _log(f"Evaluating {metric} ({len(dets)} detections, "
                 f"{'faster_coco_eval' if self._use_faster else 'pycocotools'})...", logger)
            if len(dets) == 0:
                _log(f"The {metric} results of the whole data set are empty: every {metric} number is 0",
                     logger)
                stats = dict.fromkeys(self._all_items(), 0.0)
            else:
                iou_type = "segm" if metric == "segm" else "bbox"
                coco_eval = self._run(gt, dets, iou_type, dataset, use_cats=metric != "proposal")
                stats = summary_stats(coco_eval)
                _log(_summary_lines(stats, coco_eval.params), logger)
                if self.classwise and metric != "proposal":
                    names = [gt.loadCats(c)[0]["name"] for c in dataset.cat_ids]
                    _log(f"{metric} AP per category:\n"
                         + _classwise_table(names, classwise_ap(coco_eval)), logger)
            self.full_stats.update({prefix + k: float(v) for k, v in stats.items()})
            for item in items:
                value = float(stats[item])
                out[prefix + item] = value if self.ndigits is None else float(f"{value:.{self.ndigits}f}")
            _log(_format_table([prefix + i for i in items],
                               [[f"{out[prefix + i]:.3f}" for i in items]]), logger)
            if metric != "proposal":
                first6 = ["mAP", "mAP_50", "mAP_75", "mAP_s", "mAP_m", "mAP_l"]
                out[f"{metric}_mAP_copypaste"] = " ".join(f"{stats[k]:.3f}" for k in first6)
        return out


def _check_mask_sizes(dets: CocoDetections, gt: Any) -> None:
    """Every RLE is at its image's size (as ``height``/``width`` in the ground truth say)."""
    if not dets.segms:
        return
    sizes = np.array([r["size"] for r in dets.segms], dtype=np.int64).reshape(-1, 2)
    uniq, inverse = np.unique(dets.image_ids, return_inverse=True)
    hw = [(gt.imgs.get(i, {}).get("height", -1), gt.imgs.get(i, {}).get("width", -1)) for i in uniq.tolist()]
    want = np.array(hw, dtype=np.int64).reshape(-1, 2)[inverse]  # -1: the ground truth gives no size
    bad = (want[:, 0] >= 0) & (sizes != want).any(1)
    if bad.any():
        k = int(np.argmax(bad))
        (h, w), (ih, iw) = sizes[k].tolist(), want[k].tolist()
        raise ValueError(f"segm: a mask of image {int(dets.image_ids[k])} is {w}x{h} but the image is "
                         f"{iw}x{ih}; masks must be at the original image size "
                         f"(the model's simple_test with rescale=True)")


_GT_CACHE: weakref.WeakKeyDictionary[Any, dict[bool, tuple[tuple[int, ...], Any]]] = weakref.WeakKeyDictionary()


def _fingerprint(coco: Any) -> tuple[int, ...]:
    data = coco.dataset
    anns, imgs = data.get("annotations", []), data.get("images", [])
    return (id(data), id(anns), len(anns), id(imgs), len(imgs))


def _backend_gt(coco: Any, use_faster: bool) -> Any:
    """The backend's COCO object of the ground truth ``coco``, built once per source object.

    Both backends write ``ignore`` flags (pycocotools also RLE masks) into the ground-truth
    annotations they evaluate; they get shallow copies of each annotation, so that the data set's
    own annotations (read again by ``get_ann_info`` in the next epoch) stay as loaded. What the
    backends write is the same at every evaluation, so the object is kept (weakly, as long as the
    source object lives and its annotation list is the same one of the same length) and reused
    by the next evaluation: the next epoch's metric does not index the ground truth again.
    """
    key = _fingerprint(coco)
    try:
        cached = _GT_CACHE.get(coco, {}).get(use_faster)
    except TypeError:  # not weak-referenceable or not hashable: no caching
        cached = None
    if cached is not None and cached[0] == key:
        return cached[1]
    data = dict(coco.dataset)
    data["annotations"] = [dict(a) for a in data.get("annotations", [])]
    if use_faster:
        from faster_coco_eval import COCO as FasterCOCO

        gt = FasterCOCO(data)
    else:
        from pycocotools.coco import COCO

        gt = COCO()
        gt.dataset = data
        with contextlib.redirect_stdout(io.StringIO()):
            gt.createIndex()
    with contextlib.suppress(TypeError):
        _GT_CACHE.setdefault(coco, {})[use_faster] = (key, gt)
    return gt


def _faster_available() -> bool:
    try:
        import faster_coco_eval  # noqa: F401
    except ImportError:
        return False
    return True
