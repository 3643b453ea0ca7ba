"""Semantic-segmentation metrics (mIoU, mDice, mFscore) from areas accumulated over a data set."""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["IoUMetric", "intersect_and_union", "format_table"]

_METRICS = ("mIoU", "mDice", "mFscore")


def _to_numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):  # torch.Tensor, without importing torch here
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def intersect_and_union(pred: Any, label: Any, num_classes: int, ignore_index: int = 255,
                        label_map: Mapping[int, int] | None = None, reduce_zero_label: bool = False
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-class pixel areas of one prediction against its label map.

    Args:
        pred: (H, W) predicted class indices (Tensor or array).
        label: (H, W) ground-truth label map as read from disk.
        num_classes: classes counted; labels and predictions outside ``[0, num_classes)`` are dropped.
        ignore_index: label of pixels that do not count (after ``label_map`` and ``reduce_zero_label``).
        label_map: ``{old: new}`` applied to the labels first (for class subsets; -1 drops to ignore).
        reduce_zero_label: label 0 becomes ``ignore_index`` and every other label shifts down by one.

    Returns:
        ``(area_intersect, area_union, area_pred, area_label)``, each int64 (num_classes,).
    """
    pred = _to_numpy(pred).astype(np.int64)
    label = _to_numpy(label).astype(np.int64)
    if pred.shape != label.shape:
        raise ValueError(f"prediction shape {pred.shape} differs from label shape {label.shape}")
    if label_map:
        mapped = label.copy()
        for old, new in label_map.items():
            mapped[label == old] = new if new >= 0 else ignore_index
        label = mapped
    if reduce_zero_label:
        zero = label == 0
        label = label - 1
        label[zero] = ignore_index
        label[label == ignore_index - 1] = ignore_index
    keep = (label != ignore_index) & (label >= 0) & (label < num_classes)
    pred, label = pred[keep], label[keep]
    hit = pred == label
    area_intersect = np.bincount(label[hit], minlength=num_classes)[:num_classes]
    valid_pred = pred[(pred >= 0) & (pred < num_classes)]
    area_pred = np.bincount(valid_pred, minlength=num_classes)[:num_classes]
    area_label = np.bincount(label, minlength=num_classes)[:num_classes]
    area_union = area_pred + area_label - area_intersect
    return area_intersect, area_union, area_pred, area_label


def format_table(per_class: Mapping[str, Sequence[float]], class_names: Sequence[str]) -> str:
    """A plain-text table: one row per class, one column per metric (values in percent)."""
    columns = ["Class", *per_class]
    rows = [[name, *(f"{100 * float(per_class[m][i]):.2f}" for m in per_class)]
            for i, name in enumerate(class_names)]
    widths = [max(len(str(r[j])) for r in [columns, *rows]) for j in range(len(columns))]
    line = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    fmt = "| " + " | ".join(f"{{:<{w}}}" for w in widths) + " |"
    out = [line, fmt.format(*columns), line, *(fmt.format(*r) for r in rows), line]
    return "\n".join(out)


class IoUMetric:
    """mIoU / mDice / mFscore of semantic segmentation, from areas summed over the whole set.

    Per class ``c``: IoU = I/U, Acc = I/L, Dice = 2I/(P+L), Precision = I/P, Recall = I/L,
    Fscore = (1+beta^2) * Precision * Recall / (beta^2 * Precision + Recall), with I, U, P, L the
    intersection, union, predicted and labelled pixel counts over every image. ``aAcc`` is
    sum(I)/sum(L). The mean over classes skips classes that are NaN (absent from labels and predictions).

    Args:
        metrics: any of ``'mIoU'``, ``'mDice'``, ``'mFscore'`` (default ``('mIoU',)``).
        nan_to_num: value replacing NaN per-class results (default None: keep NaN).
        beta: of the F-score (default 1).
        num_classes, ignore_index, reduce_zero_label, label_map: for :meth:`accumulate`;
            :meth:`evaluate` takes them from the data set.

    Example::

        metric = IoUMetric(num_classes=2)
        metric.accumulate(pred, label)        # once per image
        metric.compute()                      # {'aAcc': ..., 'mIoU': ..., 'IoU': array, 'Acc': array}
    """

    def __init__(self, metrics: str | Sequence[str] = ("mIoU",), nan_to_num: float | None = None,
                 beta: float = 1, num_classes: int | None = None, ignore_index: int = 255,
                 reduce_zero_label: bool = False, label_map: Mapping[int, int] | None = None) -> None:
        names = [metrics] if isinstance(metrics, str) else list(metrics)
        unknown = [m for m in names if m not in _METRICS]
        if unknown or not names:
            raise KeyError(f"unknown segmentation metric(s) {unknown or names}; choose from {list(_METRICS)}")
        self.metrics = names
        self.nan_to_num = nan_to_num
        self.beta = beta
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.reduce_zero_label = reduce_zero_label
        self.label_map = dict(label_map) if label_map else None
        self.reset()

    def reset(self) -> None:
        """Forget accumulated areas."""
        self._areas: np.ndarray | None = None  # (4, num_classes): intersect, union, pred, label

    def accumulate(self, pred: Any, label: Any) -> None:
        """Add one image's areas; ``pred`` and ``label`` are (H, W) maps (Tensor or array)."""
        if self.num_classes is None:
            raise ValueError("IoUMetric.accumulate needs num_classes (give it to the constructor)")
        areas = np.stack(intersect_and_union(pred, label, self.num_classes, self.ignore_index,
                                             self.label_map, self.reduce_zero_label))
        self._areas = areas if self._areas is None else self._areas + areas

    def compute(self) -> dict[str, Any]:
        """Summary floats (``aAcc``, ``mIoU``, ``mAcc``, ``mDice``, ``mFscore``, ``mPrecision``,
        ``mRecall`` as requested, fractions in [0, 1]) and per-class arrays under ``IoU``, ``Acc``, ..."""
        if self._areas is None:
            raise ValueError("IoUMetric.compute called before any accumulate()")
        inter, union, pred, label = (a.astype(np.float64) for a in self._areas)
        per_class: dict[str, np.ndarray] = {}
        with np.errstate(divide="ignore", invalid="ignore"):
            acc = inter / label
            if "mIoU" in self.metrics:
                per_class["IoU"] = inter / union
                per_class["Acc"] = acc
            if "mDice" in self.metrics:
                per_class["Dice"] = 2 * inter / (pred + label)
                per_class.setdefault("Acc", acc)
            if "mFscore" in self.metrics:
                precision = inter / pred
                recall = inter / label
                b2 = self.beta ** 2
                per_class["Fscore"] = (1 + b2) * precision * recall / (b2 * precision + recall)
                per_class["Precision"] = precision
                per_class["Recall"] = recall
        total = label.sum()
        out: dict[str, Any] = {"aAcc": float(inter.sum() / total) if total > 0 else float("nan")}
        for name, values in per_class.items():
            valid = values[~np.isnan(values)]
            out["m" + name] = float(valid.mean()) if valid.size else float("nan")
        if self.nan_to_num is not None:
            per_class = {k: np.nan_to_num(v, nan=self.nan_to_num) for k, v in per_class.items()}
        out.update(per_class)
        return out

    def evaluate(self, results: Iterable[Any], dataset: Any, logger: Any = None) -> dict[str, float]:
        """Metrics of ``results`` (per image (H, W) label maps, in data set order) against
        ``dataset.get_gt_seg_map_by_idx(i)``; the per-class table goes to ``logger`` (a
        ``logging.Logger``; None prints it, ``'silent'`` drops it).

        Returns:
            ``{'aAcc', 'mIoU', ..., 'IoU.<class>', 'Acc.<class>', ...}``: fractions in [0, 1].
        """
        classes = list(dataset.CLASSES)
        self.num_classes = len(classes)
        self.ignore_index = getattr(dataset, "ignore_index", self.ignore_index)
        self.reduce_zero_label = getattr(dataset, "reduce_zero_label", self.reduce_zero_label)
        self.label_map = getattr(dataset, "label_map", None) or None
        self.reset()
        count = 0
        for i, pred in enumerate(results):
            self.accumulate(pred, dataset.get_gt_seg_map_by_idx(i))
            count += 1
        if count != len(dataset):
            raise ValueError(f"got {count} results for a data set of {len(dataset)} images")
        computed = self.compute()
        out: dict[str, float] = {}
        for key, value in computed.items():
            if isinstance(value, np.ndarray):
                for name, v in zip(classes, value):
                    out[f"{key}.{name}"] = float(v)
            else:
                out[key] = float(value)
        per_class: Any = {k: v for k, v in computed.items() if isinstance(v, np.ndarray)}
        self.last_table = format_table(per_class, classes)
        summary = "  ".join(f"{k}: {100 * v:.2f}" for k, v in out.items() if "." not in k)
        message = f"per-class results:\n{self.last_table}\nsummary: {summary}"
        if logger is None:
            print(message)
        elif hasattr(logger, "info"):
            logger.info(message)
        return out
