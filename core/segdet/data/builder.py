"""Build data sets and data loaders from ``data=dict(samples_per_gpu, workers_per_gpu, train, val, test)``."""
from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch.utils.data import DataLoader

from ..registry import build
from .collate import collate
from .samplers import EpochSeededSampler, worker_init_fn

__all__ = ["build_dataset", "build_dataloader"]


def build_dataset(cfg: Mapping[str, Any] | Sequence[Mapping[str, Any]],
                  default_args: Mapping[str, Any] | None = None) -> Any:
    """A data set from its config (group ``datasets``); a list of configs is concatenated."""
    if isinstance(cfg, Sequence) and not isinstance(cfg, (str, Mapping)):
        from .datasets.wrappers import ConcatDataset

        return ConcatDataset([build_dataset(c, default_args) for c in cfg])
    return build(cfg, "datasets", default_args)


def _dist_info() -> tuple[int, int]:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def build_dataloader(dataset: Any, samples_per_gpu: int, workers_per_gpu: int, num_gpus: int = 1,
                     dist: bool = False, shuffle: bool = True, seed: int | None = None,
                     drop_last: bool = False, persistent_workers: bool = False,
                     pin_memory: bool | None = None) -> DataLoader:
    """A loader with a seeded, epoch-aware sampler (sharded across ranks when ``dist``).

    Args:
        samples_per_gpu: batch size per process.
        workers_per_gpu: loader worker processes per process (0: load in the main process).
        num_gpus: devices driven by one process without ``dist`` (batch = samples_per_gpu * num_gpus).
        dist: shard the data across ``torch.distributed`` ranks.
        shuffle: reshuffle each epoch (``sampler.set_epoch``).
        seed: base seed of shuffling and of worker RNGs.
        persistent_workers: keep the workers between epochs (only with workers). Off by
            default: workers started anew each epoch are seeded from that epoch's draw of the
            loader's generator, which is what makes a resumed run replay the same augmentations.
        pin_memory: batches in page-locked memory, so the runner's copy to a CUDA device is
            asynchronous. Default (None): when CUDA is available; pinning is a wasted copy otherwise.

    Each worker runs torch with one intra-op thread (PyTorch's worker loop sets it). OpenCV's
    thread count is not touched in a worker: in a child forked from a process whose OpenCV pool
    has run, ``cv2.setNumThreads`` waits forever on the parent's pool lock. ``segdet train``
    sets ``opencv_num_threads`` (0 by default) in the parent, and the workers inherit it.
    """
    rank, world_size = _dist_info() if dist else (0, 1)
    batch_size = samples_per_gpu if dist else samples_per_gpu * num_gpus
    num_workers = workers_per_gpu if dist else workers_per_gpu * num_gpus
    sampler = EpochSeededSampler(dataset, shuffle, seed or 0, rank, world_size)
    seed_fn = (functools.partial(worker_init_fn, num_workers=num_workers, rank=rank, seed=seed)
               if seed is not None else None)
    init_fn = seed_fn if num_workers > 0 else None
    if pin_memory is None:
        pin_memory = torch.cuda.is_available()
    # the generator draws the workers' base seeds, one per epoch: same run, same draws
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=num_workers,
                      collate_fn=collate, pin_memory=pin_memory, drop_last=drop_last, worker_init_fn=init_fn,
                      generator=generator, persistent_workers=persistent_workers and num_workers > 0)
