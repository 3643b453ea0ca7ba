"""Confusion matrix of one semantic-segmentation map, by ``torch.bincount`` on the prediction's device."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

__all__ = ["as_label_tensor", "seg_confusion_matrix"]


def as_label_tensor(x: Any, device: torch.device | None = None) -> torch.Tensor:
    """An integer Tensor of a map (Tensor or array) on ``device`` (default: where it is, CPU for arrays).

    Float maps are truncated to int64; integer maps keep their dtype (an 8-bit label map moves as
    8 bits). Arrays are wrapped without a copy where numpy allows it.
    """
    if not isinstance(x, torch.Tensor):
        arr = np.asarray(x)
        if arr.dtype.kind == "b":
            arr = arr.view(np.uint8)
        elif arr.dtype == np.uint16:  # 16-bit PNG labels; torch has few kernels for uint16
            arr = arr.astype(np.int32)
        elif not (arr.dtype.isnative and (arr.dtype.kind == "i" or arr.dtype == np.uint8)):
            arr = arr.astype(np.int64)
        x = torch.from_numpy(np.ascontiguousarray(arr))
    if x.dtype == torch.bool:
        x = x.to(torch.uint8)
    elif x.is_floating_point() or x.is_complex():
        x = x.to(torch.int64)
    return x if device is None else x.to(device, non_blocking=True)


def _index_dtype(bins: int) -> torch.dtype:
    """The narrowest signed dtype holding every bin index (fewer bytes per pixel to stream)."""
    if bins <= torch.iinfo(torch.int16).max:
        return torch.int16
    return torch.int32 if bins <= torch.iinfo(torch.int32).max else torch.int64


def _wide(x: torch.Tensor) -> torch.Tensor:
    """``x`` in a dtype that holds -1 and any ignore index: int64 stays, anything else int32."""
    return x if x.dtype == torch.int64 else x.to(torch.int32)


def _map_labels(label: torch.Tensor, ignore_index: int, label_map: Mapping[int, int] | None,
                reduce_zero_label: bool) -> torch.Tensor:
    """MMSegmentation's label preprocessing: ``label_map`` (old -> new, new < 0: ignored) on the
    labels as read, then ``reduce_zero_label`` (0 -> ignored, every other label minus one)."""
    if label_map:
        src = label
        label = _wide(label).clone()
        for old, new in label_map.items():
            label[src == old] = new if new >= 0 else ignore_index
    if reduce_zero_label:
        label = _wide(label)
        zero = label == 0
        label = label - 1
        label[zero] = ignore_index
        label[label == ignore_index - 1] = ignore_index
    return label


def _in_range(x: torch.Tensor, n: int | None = None) -> bool:
    """Every value of ``x`` in ``[0, n)`` (``n`` None: non-negative). CPU only: on an accelerator
    the answer would make the host wait for the device."""
    if x.numel() == 0:
        return True
    lo, hi = torch.aminmax(x)
    return bool(lo >= 0) and (n is None or bool(hi < n))


#: pixels per block on CPU: below torch's parallel grain (32768 elements), so each op runs on the
#: calling thread. Several threads gain little on these memory-bound passes, and on a busy machine
#: (data-loader workers, other processes) every multi-threaded op waits for a thread the OS has
#: not scheduled: whole 2-Mpixel maps took 5-10x longer with 2 threads than with 1 under load.
_CPU_BLOCK = 1 << 15


def _block_counts(pred: torch.Tensor, label: torch.Tensor, k: int, ignore_index: int,
                  label_map: Mapping[int, int] | None, reduce_zero_label: bool) -> torch.Tensor:
    """``bincount((k + 1) * row + col)`` of flat ``pred`` / ``label`` on one device."""
    label = _map_labels(label, ignore_index, label_map, reduce_zero_label)
    dtype = _index_dtype((k + 1) * (k + 1))
    on_cpu = pred.device.type == "cpu"
    # rows: where labels are non-negative and the ignore index is no class (the usual 255), one
    # clamp sends every ignored or out-of-range label to the dropped row K; otherwise a mask
    simple_rows = on_cpu and not 0 <= ignore_index < k and (label.dtype == torch.uint8 or _in_range(label))
    if not simple_rows:
        valid = (label >= 0) & (label < k) & (label != ignore_index)
        rows = torch.where(valid, _wide(label), k).to(dtype)
    elif label.dtype == torch.uint8 and k > 255:  # every uint8 value is a class
        rows = label
    else:
        rows = label.clamp(max=k)  # stays 8-bit for 8-bit labels; the add below widens
    if on_cpu and _in_range(pred, k):
        cols = pred.to(dtype)
    else:
        cols = torch.where((pred >= 0) & (pred < k), _wide(pred), k).to(dtype)
    index = torch.add(cols, rows.to(dtype) if rows.dtype.itemsize > cols.dtype.itemsize else rows, alpha=k + 1)
    return torch.bincount(index, minlength=(k + 1) * (k + 1))


def seg_confusion_matrix(pred: Any, label: Any, num_classes: int, ignore_index: int = 255,
                         label_map: Mapping[int, int] | None = None,
                         reduce_zero_label: bool = False) -> torch.Tensor:
    """Pixel counts of one image by (label, prediction), on the prediction's device.

    ``torch.bincount`` over ``(num_classes + 1) * row + col`` per pixel: ``row`` is the label
    after ``label_map`` / ``reduce_zero_label``, or ``num_classes`` where it is ``ignore_index`` or
    outside ``[0, num_classes)`` (that row is dropped); ``col`` is the prediction, or
    ``num_classes`` where it is outside ``[0, num_classes)``. The label map moves to the
    prediction's device (the prediction never leaves it); on an accelerator the whole map is one
    pass and nothing waits for the device; on CPU it goes in blocks of 32768 pixels (see ``_CPU_BLOCK``).

    Args:
        pred: (H, W) predicted class indices, Tensor (any device) or array.
        label: (H, W) ground-truth label map as read from disk (Tensor or array).
        num_classes: number of classes K.
        ignore_index: label of pixels that do not count (default 255).
        label_map: ``{old: new}`` applied to the labels first (default None; new < 0: ignored).
        reduce_zero_label: label 0 is ignored and every other label shifts down by one (default False).

    Returns:
        int64 Tensor (K, K + 1) on ``pred``'s device: ``[i, j]`` pixels labelled ``i`` predicted
        ``j``; column K counts labelled pixels predicted outside ``[0, K)``.
    """
    k = int(num_classes)
    pred_t = as_label_tensor(pred)
    label_t = as_label_tensor(label, pred_t.device)
    if pred_t.shape != label_t.shape:
        raise ValueError(f"prediction shape {tuple(pred_t.shape)} differs from label shape {tuple(label_t.shape)}")
    flat_pred, flat_label = pred_t.reshape(-1), label_t.reshape(-1)
    args = (k, ignore_index, label_map, reduce_zero_label)
    if pred_t.device.type != "cpu" or flat_pred.numel() <= _CPU_BLOCK:
        counts = _block_counts(flat_pred, flat_label, *args)
    else:
        counts = torch.zeros((k + 1) * (k + 1), dtype=torch.int64)
        for start in range(0, flat_pred.numel(), _CPU_BLOCK):
            end = start + _CPU_BLOCK
            counts += _block_counts(flat_pred[start:end], flat_label[start:end], *args)
    return counts.view(k + 1, k + 1)[:k]
