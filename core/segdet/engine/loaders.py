"""Data loaders for the runner: ``segdet.data.builder`` when present, else a small built-in one.

The built-in loader shuffles with a generator seeded by ``seed + epoch`` (``set_epoch``),
shards across ranks like DistributedSampler and seeds each worker, so a run and its
resumed copy see the same batches.
"""
from __future__ import annotations

import functools
import math
from collections.abc import Iterator, Mapping
from typing import Any

import torch
from torch.utils.data import DataLoader, Sampler

from .dist import get_dist_info
from .env import worker_init_fn

__all__ = ["EpochSeededSampler", "build_loader", "build_dataset_from_cfg", "simple_collate"]


class EpochSeededSampler(Sampler[int]):
    """Indices shuffled by ``torch.randperm`` seeded with ``seed + epoch``, padded to a multiple of
    ``world_size`` and sharded ``rank::world_size``."""

    def __init__(self, dataset: Any, shuffle: bool = True, seed: int = 0, rank: int = 0,
                 world_size: int = 1) -> None:
        self.dataset, self.shuffle, self.seed = dataset, shuffle, int(seed or 0)
        self.rank, self.world_size, self.epoch = rank, world_size, 0
        self.num_samples = math.ceil(len(dataset) / world_size)
        self.total_size = self.num_samples * world_size

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        if self.shuffle:
            g = torch.Generator()
            g.manual_seed(self.seed + self.epoch)
            indices = torch.randperm(n, generator=g).tolist()
        else:
            indices = list(range(n))
        indices += indices[: self.total_size - n]
        return iter(indices[self.rank:self.total_size:self.world_size])

    def __len__(self) -> int:
        return self.num_samples


def simple_collate(samples: list[Mapping[str, Any]]) -> dict[str, Any]:
    """Stack same-size ``img`` tensors (or lists of them for test samples); keep everything else as lists."""
    out: dict[str, Any] = {}
    for key in samples[0]:
        values = [s[key] for s in samples]
        first = values[0]
        if key in ("img", "gt_semantic_seg") and isinstance(first, torch.Tensor):
            out[key] = torch.stack(values)
        elif key == "img" and isinstance(first, list):
            out[key] = [torch.stack([v[i] for v in values]) for i in range(len(first))]
        elif key == "img_metas" and isinstance(first, list):
            out[key] = [[v[i] for v in values] for i in range(len(first))]
        else:
            out[key] = values
    return out


def _collate_fn() -> Any:
    try:
        from ..data.collate import collate
    except ImportError:
        return simple_collate
    return collate


def build_dataset_from_cfg(cfg: Mapping[str, Any], default_args: Mapping[str, Any] | None = None) -> Any:
    """``segdet.data.builder.build_dataset`` if present, else ``registry.build(cfg, 'datasets')``."""
    try:
        from ..data.builder import build_dataset
    except ImportError:
        from ..registry import build

        return build(cfg, "datasets", default_args)
    return build_dataset(cfg, default_args)


def build_loader(dataset: Any, samples_per_gpu: int, workers_per_gpu: int, dist: bool = False,
                 shuffle: bool = True, seed: int | None = None, drop_last: bool = False,
                 persistent_workers: bool = False) -> Any:
    """A data loader per the contract of ``segdet.data.builder.build_dataloader``."""
    try:
        from ..data.builder import build_dataloader
    except ImportError:
        build_dataloader = None
    if build_dataloader is not None:
        return build_dataloader(dataset, samples_per_gpu, workers_per_gpu, num_gpus=1, dist=dist,
                                shuffle=shuffle, seed=seed, drop_last=drop_last,
                                persistent_workers=persistent_workers)
    rank, world_size = get_dist_info() if dist else (0, 1)
    sampler = EpochSeededSampler(dataset, shuffle, seed or 0, rank, world_size)
    init_fn = (functools.partial(worker_init_fn, num_workers=workers_per_gpu, rank=rank, seed=seed)
               if seed is not None and workers_per_gpu > 0 else None)
    return DataLoader(dataset, batch_size=samples_per_gpu, sampler=sampler, num_workers=workers_per_gpu,
                      collate_fn=_collate_fn(), drop_last=drop_last, worker_init_fn=init_fn,
                      persistent_workers=persistent_workers and workers_per_gpu > 0)
