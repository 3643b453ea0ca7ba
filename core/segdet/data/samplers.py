"""Seeded, epoch-aware sampling so a run and its resumed copy see the same batches."""
from __future__ import annotations

import math
import random
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch.utils.data import Sampler

__all__ = ["EpochSeededSampler", "worker_init_fn"]


class EpochSeededSampler(Sampler[int]):
    """Indices shuffled by ``torch.randperm`` seeded with ``seed + epoch`` (``set_epoch``), padded
    to a multiple of ``world_size`` and sharded ``rank::world_size`` like DistributedSampler."""

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


def worker_init_fn(worker_id: int, num_workers: int, rank: int, seed: int) -> None:
    """Give each data-loader worker its own, reproducible NumPy / random / torch seed.

    Mixes in ``torch.initial_seed()``, which PyTorch sets in each worker to a base seed drawn
    anew every epoch from the loader's generator (seeded by ``build_dataloader``): without it
    every epoch would replay the same random augmentations, position by position.
    """
    state = np.random.SeedSequence([int(seed) % 2**32, rank, num_workers, worker_id,
                                    torch.initial_seed() % 2**63]).generate_state(2)
    np.random.seed(int(state[0]))
    random.seed(int(state[1]))
    torch.manual_seed(int(state[0]) << 32 | int(state[1]))
