"""``segdet confusion-matrix CFG RESULTS.pkl``: which classes a model confuses, as a heat map.

Detection follows MMDetection's ``tools/analysis_tools/confusion_matrix.py``: rows are ground-truth
classes plus ``background``, columns predicted classes plus ``background``. A detection scoring at
least ``--score-thr`` counts once for every ground-truth box it overlaps with IoU >= ``--tp-iou-thr``
(cell ``[gt class, predicted class]``), or in ``[background, predicted]`` when it overlaps none;
a ground-truth box no detection of its own class matched counts in ``[gt class, background]``.
Segmentation counts pixels: ``[gt class, predicted class]``, ignored pixels left out.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import click
import numpy as np

from ._common import cfg_options_option, load_config

__all__ = ["confusion_matrix", "detection_confusion", "segmentation_confusion"]


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box of ``a`` (N, 4) with every box of ``b`` (M, 4), x1y1x2y2."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(-1)
    area_a = (a[:, 2:] - a[:, :2]).clip(0).prod(-1)
    area_b = (b[:, 2:] - b[:, :2]).clip(0).prod(-1)
    return inter / np.maximum(area_a[:, None] + area_b[None] - inter, 1e-9)


def _as_detections(result: Any, where: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(boxes (N, 4), scores (N,), labels (N,))`` of one image's result: segdet's dict or
    MMDetection's per-class list of ``(n, 5)`` arrays (or its ``(bbox, segm)`` tuple)."""
    def arr(x: Any) -> np.ndarray:
        return np.asarray(x.detach().cpu() if hasattr(x, "detach") else x)

    if isinstance(result, dict) and "bboxes" in result:
        return (arr(result["bboxes"]).reshape(-1, 4).astype(np.float64),
                arr(result["scores"]).reshape(-1).astype(np.float64), arr(result["labels"]).reshape(-1).astype(int))
    if isinstance(result, tuple) and len(result) == 2:
        result = result[0]
    if isinstance(result, list):
        per_class = [arr(r).reshape(-1, 5) for r in result]
        labels = np.concatenate([np.full(len(r), c) for c, r in enumerate(per_class)] or [np.zeros(0)])
        stacked = np.concatenate(per_class) if per_class else np.zeros((0, 5))
        return stacked[:, :4].astype(np.float64), stacked[:, 4].astype(np.float64), labels.astype(int)
    raise click.ClickException(f"{where}: not a detection result (dict with bboxes/scores/labels, or a list of "
                               "per-class (n, 5) arrays)")


def detection_confusion(gts: Sequence[tuple[np.ndarray, np.ndarray]], results: Sequence[Any], num_classes: int,
                        score_thr: float = 0.3, tp_iou_thr: float = 0.5) -> np.ndarray:
    """``(C + 1, C + 1)`` counts, rows ground truth, columns predictions, last = background.

    Args:
        gts: per image ``(boxes (K, 4), labels (K,))`` in original-image pixels.
        results: per image detection results (see :func:`_as_detections`).
    """
    matrix = np.zeros((num_classes + 1, num_classes + 1), np.int64)
    for idx, ((gt_boxes, gt_labels), result) in enumerate(zip(gts, results)):
        boxes, scores, labels = _as_detections(result, f"result {idx}")
        keep = scores >= score_thr
        boxes, labels = boxes[keep], labels[keep]
        matched = np.zeros(len(gt_labels), bool)
        ious = _iou(boxes, gt_boxes) if len(boxes) and len(gt_boxes) else np.zeros((len(boxes), len(gt_boxes)))
        for i, label in enumerate(labels):
            hits = np.flatnonzero(ious[i] >= tp_iou_thr)
            for j in hits:
                matrix[gt_labels[j], label] += 1
                matched[j] |= gt_labels[j] == label
            if not len(hits):
                matrix[num_classes, label] += 1  # a false positive on background
        for j in np.flatnonzero(~matched):
            matrix[gt_labels[j], num_classes] += 1  # missed
    return matrix


def segmentation_confusion(gt_maps: Sequence[np.ndarray], results: Sequence[Any], num_classes: int,
                           ignore_index: int = 255) -> np.ndarray:
    """``(C, C)`` pixel counts, rows ground truth, columns predictions; ``ignore_index`` left out."""
    matrix = np.zeros((num_classes, num_classes), np.int64)
    for idx, (gt, pred) in enumerate(zip(gt_maps, results)):
        pred = np.asarray(pred.detach().cpu() if hasattr(pred, "detach") else pred).astype(np.int64)
        gt = np.asarray(gt).astype(np.int64)
        if pred.shape != gt.shape:
            raise click.ClickException(f"result {idx} is {pred.shape[-1]}x{pred.shape[-2]} but its label map is "
                                       f"{gt.shape[-1]}x{gt.shape[-2]}; write results at the original size "
                                       "(segdet test --out)")
        valid = (gt != ignore_index) & (gt >= 0) & (gt < num_classes) & (pred >= 0) & (pred < num_classes)
        matrix += np.bincount(gt[valid] * num_classes + pred[valid],
                              minlength=num_classes ** 2).reshape(num_classes, num_classes)
    return matrix


def plot_matrix(matrix: np.ndarray, names: Sequence[str], out_file: str, title: str) -> None:
    """A row-normalised (percent) heat map with class names, written to ``out_file``."""
    try:
        import matplotlib
    except ImportError as err:
        raise click.ClickException("confusion-matrix draws with matplotlib, which is not installed: "
                                   "pip install matplotlib  (or pip install 'segdet[plot]')") from err
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sums = matrix.sum(axis=1, keepdims=True)
    percent = np.where(sums > 0, matrix / np.maximum(sums, 1) * 100.0, 0.0)
    n = len(names)
    size = max(4.0, 0.6 * n + 2.0)
    fig, ax = plt.subplots(figsize=(size, size * 0.85))
    image = ax.imshow(percent, cmap="Blues", vmin=0, vmax=100)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="% of the row")
    ax.set_xticks(range(n), labels=list(names), rotation=45, ha="right")
    ax.set_yticks(range(n), labels=list(names))
    ax.set_xlabel("Prediction")
    ax.set_ylabel("Ground truth")
    ax.set_title(title)
    if n <= 30:
        for i in range(n):
            for j in range(n):
                ax.text(j, i, f"{percent[i, j]:.0f}", ha="center", va="center", fontsize=8,
                        color="white" if percent[i, j] > 50 else "black")
    fig.tight_layout()
    fig.savefig(out_file, dpi=100)
    plt.close(fig)


def _load_results(path: str) -> list[Any]:
    if not os.path.isfile(path):
        raise click.ClickException(f"{path}: no such results file; write one with "
                                   "`segdet test CFG CKPT --out results.pkl`")
    if not path.endswith((".pkl", ".pickle")):
        raise click.ClickException(f"{path}: expected a .pkl written by `segdet test --out results.pkl`")
    from segdet.errors import CheckpointError
    from segdet.models.weights import safe_torch_load

    try:
        # weights_only: a results file, like a checkpoint, never runs code when read
        results = safe_torch_load(path)
    except CheckpointError as err:
        raise click.ClickException(
            f"{path}: cannot read these results safely ({err}). segdet reads the files `segdet test --out "
            "results.pkl` writes (torch.save, loaded with weights_only=True); a plain pickle, such as "
            "MMDetection's, is not unpickled because that could run code: re-create it with segdet test --out"
        ) from err
    if not isinstance(results, list):
        raise click.ClickException(f"{path}: holds a {type(results).__name__}, expected the list of per-image "
                                   "results `segdet test --out` writes")
    return results


@click.command("confusion-matrix")
@click.argument("config", type=click.Path(dir_okay=False))
@click.argument("results_file", metavar="RESULTS.pkl", type=click.Path(dir_okay=False))
@click.option("--out", "out_dir", default=".", show_default=True, type=click.Path(file_okay=False),
              help="Folder for confusion_matrix.png.")
@click.option("--score-thr", default=0.3, show_default=True, help="Detections scoring below are ignored.")
@click.option("--tp-iou-thr", default=0.5, show_default=True, help="IoU at which a detection matches a box.")
@click.option("--split", type=click.Choice(["val", "test"]), default="test", show_default=True,
              help="The data split the results were computed on.")
@cfg_options_option
def confusion_matrix(config: str, results_file: str, out_dir: str, score_thr: float, tp_iou_thr: float,
                     split: str, cfg_options: Sequence[str]) -> None:
    """Confusion matrix of RESULTS.pkl (from `segdet test --out`) against the ground truth of the
    config's test split: printed as counts, drawn row-normalised into OUT/confusion_matrix.png.
    Detection adds a background row (missed boxes) and column (false positives)."""
    if not os.path.isfile(config):
        raise click.ClickException(f"{config}: no such config file")
    results = _load_results(results_file)
    cfg = load_config(config, cfg_options)
    from segdet.data.builder import build_dataset
    from segdet.registry.local import import_custom_modules

    import_custom_modules(cfg.get("custom_imports"), source=config)
    data_cfg = dict(cfg.data[split])
    data_cfg["test_mode"] = True
    dataset = build_dataset(data_cfg)
    if len(results) != len(dataset):
        raise click.ClickException(f"{results_file} holds {len(results)} results but data.{split} of {config} has "
                                   f"{len(dataset)} images; give the results of that split")
    classes = list(getattr(dataset, "CLASSES", None) or [])
    segmentation = hasattr(dataset, "get_gt_seg_map_by_idx")
    if segmentation:
        gts = []
        for i in range(len(dataset)):
            gt = np.asarray(dataset.get_gt_seg_map_by_idx(i)).astype(np.int64)
            if getattr(dataset, "reduce_zero_label", False):
                gt = np.where(gt == 0, 255, gt - 1)
            gts.append(gt)
        matrix = segmentation_confusion(gts, results, len(classes), int(getattr(dataset, "ignore_index", 255)))
        names = classes
    else:
        if not hasattr(dataset, "get_ann_info"):
            raise click.ClickException(f"{type(dataset).__name__} has no get_ann_info(idx): cannot read ground truth")
        boxes_gt = [(np.asarray(a["bboxes"], np.float64).reshape(-1, 4), np.asarray(a["labels"], np.int64))
                    for a in (dataset.get_ann_info(i) for i in range(len(dataset)))]
        matrix = detection_confusion(boxes_gt, results, len(classes), score_thr, tp_iou_thr)
        names = classes + ["background"]
    os.makedirs(out_dir, exist_ok=True)
    out_file = os.path.join(out_dir, "confusion_matrix.png")
    plot_matrix(matrix, names, out_file, "Normalized confusion matrix (%)")
    width = max(len(n) for n in names)
    click.echo("rows: ground truth, columns: prediction (counts)")
    click.echo(" " * (width + 1) + " ".join(f"{n[:8]:>8}" for n in names))
    for name, row in zip(names, matrix):
        click.echo(f"{name:>{width}} " + " ".join(f"{v:>8d}" for v in row))
    click.echo(f"saved {out_file}")
