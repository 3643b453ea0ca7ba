"""Small tensor helpers shared by dense heads (part of the plugin API)."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import torch

__all__ = ["multi_apply", "images_to_levels", "unmap", "select_single_mlvl", "levels_to_flat", "reduce_mean"]


def multi_apply(func: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[list[Any], ...]:
    """Apply ``func`` to each element of zipped ``args``; transpose the tuple results into lists.

    Example: ``multi_apply(f, [a1, a2], [b1, b2])`` -> ``([f(a1,b1)[0], f(a2,b2)[0]], [..[1]..])``.
    """
    fn = partial(func, **kwargs) if kwargs else func
    results = map(fn, *args)
    return tuple(map(list, zip(*results)))


def images_to_levels(target: list[torch.Tensor], num_levels: Sequence[int]) -> list[torch.Tensor]:
    """Per-image targets ``[(A, ...)] * B`` -> per-level ``[(B, A_l, ...)]`` with ``sum(A_l) == A``."""
    stacked = torch.stack(target, 0)
    return list(stacked.split(list(num_levels), dim=1))


def unmap(data: torch.Tensor, count: int, inds: torch.Tensor, fill: float = 0) -> torch.Tensor:
    """Scatter ``data`` (subset of size ``len(inds)`` or ``inds.sum()``) back into ``count`` rows."""
    shape = (count,) + tuple(data.shape[1:])
    ret = data.new_full(shape, fill)
    ret[inds] = data
    return ret


def select_single_mlvl(mlvl_tensors: Sequence[torch.Tensor], batch_id: int,
                       detach: bool = True) -> list[torch.Tensor]:
    """The ``batch_id``-th image of each level's ``(B, ...)`` tensor."""
    return [t[batch_id].detach() if detach else t[batch_id] for t in mlvl_tensors]


def levels_to_flat(mlvl: Sequence[torch.Tensor], channels: int) -> torch.Tensor:
    """``[(B, A*channels, H_l, W_l)]`` -> ``(B, sum_l H_l*W_l*A, channels)`` in MMDet's prior order."""
    b = mlvl[0].shape[0]
    if len(mlvl) == 1:
        return mlvl[0].permute(0, 2, 3, 1).reshape(b, -1, channels)
    # One copy per level straight into its slice of the output (``cat`` of reshaped permutes
    # copies every element twice; this is the largest tensor of an anchor head's loss).
    counts = [t.shape[1] // channels * t.shape[2] * t.shape[3] for t in mlvl]
    out = mlvl[0].new_empty((b, sum(counts), channels))
    start = 0
    for t, n in zip(mlvl, counts):
        out[:, start:start + n].view(b, t.shape[2], t.shape[3], t.shape[1]).copy_(t.permute(0, 2, 3, 1))
        start += n
    return out


def reduce_mean(tensor: torch.Tensor) -> torch.Tensor:
    """Mean of ``tensor`` over the processes of a distributed run (itself when not distributed)."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return tensor
    tensor = tensor.clone()
    dist.all_reduce(tensor.div_(dist.get_world_size()), op=dist.ReduceOp.SUM)
    return tensor
