"""Data-set wrappers: repeat one data set, or concatenate several."""
from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from ...registry.slots import Slot

__all__ = ["RepeatDataset", "ConcatDataset"]


def _build(ds: Any) -> Any:
    if isinstance(ds, Mapping):
        from ..builder import build_dataset

        return build_dataset(ds)
    return ds


class RepeatDataset:
    """``dataset`` seen ``times`` times per epoch (short epochs cost less runner overhead).

    Args:
        dataset: a data set or its config.
        times: repetitions.
    """

    slots: ClassVar[dict[str, Slot]] = {"dataset": Slot("datasets", optional=False)}

    def __init__(self, dataset: Mapping[str, Any] | Any, times: int) -> None:
        if times < 1:
            raise ValueError(f"RepeatDataset: times must be >= 1, got {times}")
        self.dataset = _build(dataset)
        self.times = times
        self.CLASSES = getattr(self.dataset, "CLASSES", ())

    def __len__(self) -> int:
        return self.times * len(self.dataset)

    def __getitem__(self, idx: int) -> Any:
        return self.dataset[idx % len(self.dataset)]

    def evaluate(self, results: Sequence[Any], **kwargs: Any) -> dict[str, float]:
        return self.dataset.evaluate(results, **kwargs)


class ConcatDataset:
    """Several data sets as one; ``CLASSES`` of the first. Evaluated one by one, keys prefixed ``<i>_``.

    Args:
        datasets: data sets or their configs.
    """

    slots: ClassVar[dict[str, Slot]] = {"datasets": Slot("datasets", optional=False)}

    def __init__(self, datasets: Sequence[Mapping[str, Any] | Any]) -> None:
        self.datasets = [_build(d) for d in datasets]
        self.CLASSES = getattr(self.datasets[0], "CLASSES", ())
        self.cumulative_sizes: list[int] = []
        total = 0
        for d in self.datasets:
            total += len(d)
            self.cumulative_sizes.append(total)

    def __len__(self) -> int:
        return self.cumulative_sizes[-1] if self.cumulative_sizes else 0

    def __getitem__(self, idx: int) -> Any:
        which = bisect.bisect_right(self.cumulative_sizes, idx)
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][idx - start]

    def evaluate(self, results: Sequence[Any], **kwargs: Any) -> dict[str, float]:
        out: dict[str, float] = {}
        start = 0
        for i, (d, end) in enumerate(zip(self.datasets, self.cumulative_sizes)):
            for k, v in d.evaluate(results[start:end], **kwargs).items():
                out[f"{i}_{k}"] = v
            start = end
        return out
