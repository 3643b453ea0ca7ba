"""Batch samples: pad images (and maps) to a common size, keep per-image targets as lists."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

__all__ = ["collate", "pad_stack"]


def pad_stack(tensors: Sequence[torch.Tensor], value: float = 0) -> torch.Tensor:
    """Stack (C, H, W) tensors, padding each at the bottom/right to the largest H and W."""
    h = max(t.shape[-2] for t in tensors)
    w = max(t.shape[-1] for t in tensors)
    if all(t.shape[-2:] == (h, w) for t in tensors):
        return torch.stack(list(tensors))
    out = tensors[0].new_full((len(tensors), *tensors[0].shape[:-2], h, w), value)
    for i, t in enumerate(tensors):
        out[i, ..., : t.shape[-2], : t.shape[-1]] = t
    return out


def _with_batch_shape(metas: list[dict[str, Any]], shape: torch.Size) -> list[dict[str, Any]]:
    return [{**m, "batch_input_shape": (int(shape[-2]), int(shape[-1]))} for m in metas]


def collate(samples: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Collate pipeline outputs (see docs/CONTRACTS.md).

    Training samples give ``img`` (B, 3, H, W), ``img_metas`` list of dicts, ``gt_*`` lists and
    ``gt_semantic_seg`` (B, 1, H, W) padded with 255. Test samples (lists per augmentation) give
    ``img`` as a list of (B, 3, H, W) and ``img_metas`` as a list of lists.
    """
    if not samples:
        raise ValueError("collate: empty batch")
    out: dict[str, Any] = {}
    test_time = isinstance(samples[0]["img"], list)
    for key in samples[0]:
        values = [s[key] for s in samples]
        if key == "img" and test_time:
            out[key] = [pad_stack([v[a] for v in values]) for a in range(len(values[0]))]
        elif key == "img":
            out[key] = pad_stack(values)
        elif key == "gt_semantic_seg" and not test_time:
            out[key] = pad_stack(values, value=255)
        elif key == "img_metas" and test_time:
            out[key] = [[v[a] for v in values] for a in range(len(values[0]))]
        else:
            out[key] = values
    if test_time:
        out["img_metas"] = [_with_batch_shape(m, img.shape) for m, img in zip(out["img_metas"], out["img"])]
    elif "img_metas" in out:
        out["img_metas"] = _with_batch_shape(out["img_metas"], out["img"].shape)
    return out
