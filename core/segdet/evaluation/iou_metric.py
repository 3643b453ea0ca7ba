"""Semantic-segmentation metrics (mIoU, mDice, mFscore) from areas accumulated over a data set."""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["IoUMetric", "areas_from_confusion", "intersect_and_union", "format_table"]

_METRICS = ("mIoU", "mDice", "mFscore")


def areas_from_confusion(confusion: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(area_intersect, area_union, area_pred, area_label)``, int64 (K,) each, of a (K, K + 1)
    confusion matrix (:func:`~segdet.evaluation.seg_confusion.seg_confusion_matrix`)."""
    cm = confusion.detach().cpu().numpy() if hasattr(confusion, "detach") else np.asarray(confusion)
    cm = cm.astype(np.int64)
    k = cm.shape[0]
    area_intersect = np.diagonal(cm[:, :k]).copy()
    area_pred = cm[:, :k].sum(0)
    area_label = cm.sum(1)
    return area_intersect, area_pred + area_label - area_intersect, area_pred, area_label


def intersect_and_union(pred: Any, label: Any, num_classes: int, ignore_index: int = 255,
                        label_map: Mapping[int, int] | None = None, reduce_zero_label: bool = False
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-class pixel areas of one prediction against its label map.

    Args:
        pred: (H, W) predicted class indices (Tensor on any device, or array).
        label: (H, W) ground-truth label map as read from disk.
        num_classes: classes counted; labels and predictions outside ``[0, num_classes)`` are dropped.
        ignore_index: label of pixels that do not count (after ``label_map`` and ``reduce_zero_label``).
        label_map: ``{old: new}`` applied to the labels first (for class subsets; -1 drops to ignore).
        reduce_zero_label: label 0 becomes ``ignore_index`` and every other label shifts down by one.

    Returns:
        ``(area_intersect, area_union, area_pred, area_label)``, each int64 (num_classes,) numpy.
        ``area_pred`` counts predictions at labelled pixels only.
    """
    from .seg_confusion import seg_confusion_matrix

    return areas_from_confusion(seg_confusion_matrix(pred, label, num_classes, ignore_index, label_map,
                                                     reduce_zero_label))


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
    The counts are a (K, K + 1) confusion matrix made per image by ``torch.bincount`` on the
    prediction's device and summed there (:mod:`~segdet.evaluation.seg_confusion`); only the
    K x (K + 1) matrix comes back to the host, in :meth:`compute`.

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
        """Forget accumulated counts."""
        self._confusion: Any = None  # int64 Tensor (K, K + 1) on the first prediction's device

    @property
    def confusion(self) -> np.ndarray | None:
        """The accumulated (K, K + 1) confusion matrix (rows: labels, columns: predictions, column K:
        predictions outside the classes), or None before any :meth:`accumulate`."""
        return None if self._confusion is None else self._confusion.cpu().numpy()

    def accumulate(self, pred: Any, label: Any) -> None:
        """Add one image: ``pred`` (H, W) Tensor on any device, or array; ``label`` (H, W) array or
        Tensor. The counts are made and kept on ``pred``'s device (the label map moves there, the
        prediction never leaves it, nothing waits for the device); :meth:`compute` reads them back."""
        from .seg_confusion import seg_confusion_matrix

        if self.num_classes is None:
            raise ValueError("IoUMetric.accumulate needs num_classes (give it to the constructor)")
        cm = seg_confusion_matrix(pred, label, self.num_classes, self.ignore_index, self.label_map,
                                  self.reduce_zero_label)
        if self._confusion is None:
            self._confusion = cm
        else:
            self._confusion += cm.to(self._confusion.device)

    def compute(self) -> dict[str, Any]:
        """Summary floats (``aAcc``, ``mIoU``, ``mAcc``, ``mDice``, ``mFscore``, ``mPrecision``,
        ``mRecall`` as requested, fractions in [0, 1]) and per-class arrays under ``IoU``, ``Acc``, ..."""
        if self._confusion is None:
            raise ValueError("IoUMetric.compute called before any accumulate()")
        inter, union, pred, label = (a.astype(np.float64) for a in areas_from_confusion(self._confusion))
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
