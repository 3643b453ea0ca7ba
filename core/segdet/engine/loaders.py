"""Data sets and loaders for the runner, through ``segdet.data.builder`` (see CONTRACTS).

Its loaders shuffle with a sampler seeded by ``seed + epoch`` (``set_epoch``), shard across
ranks and seed their workers, so a run and its resumed copy see the same batches.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["build_loader", "build_dataset_from_cfg"]


def build_dataset_from_cfg(cfg: Mapping[str, Any], default_args: Mapping[str, Any] | None = None) -> Any:
    """``segdet.data.builder.build_dataset(cfg, default_args)``."""
    from ..data.builder import build_dataset

    return build_dataset(cfg, dict(default_args) if default_args else None)


def build_loader(dataset: Any, samples_per_gpu: int, workers_per_gpu: int, dist: bool = False,
                 shuffle: bool = True, seed: int | None = None, drop_last: bool = False,
                 persistent_workers: bool = False) -> Any:
    """``segdet.data.builder.build_dataloader`` for one process (``dist`` shards across ranks)."""
    from ..data.builder import build_dataloader

    return build_dataloader(dataset, samples_per_gpu, workers_per_gpu, num_gpus=1, dist=dist,
                            shuffle=shuffle, seed=seed, drop_last=drop_last,
                            persistent_workers=persistent_workers)
