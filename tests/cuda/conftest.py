"""CUDA code paths: tests marked ``cuda`` run on a GPU and are skipped, with the reason, without one.

Each file pairs its ``cuda`` tests with CPU tests of the same code path's device-independent logic
(backend choice, scaler settings, SyncBN conversion, loader pinning, the copy to the device), and
where a test body runs on any device it is parametrized over ``cpu`` and ``cuda`` so the body
itself is checked on every machine.
"""
from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

NO_CUDA = "no CUDA device: torch.cuda.is_available() is False"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason=NO_CUDA)
    for item in items:
        if item.get_closest_marker("cuda") is not None:
            item.add_marker(skip)


@pytest.fixture
def tiny_retinanet() -> Callable[..., torch.nn.Module]:
    """``tiny_retinanet(norm='BN', seed=0)``: a freshly built :func:`tiny_retinanet_cfg` model."""
    from segdet import build_model
    from tests.cuda.cuda_helpers import tiny_retinanet_cfg

    def make(norm: str = "BN", seed: int = 0) -> torch.nn.Module:
        torch.manual_seed(seed)
        return build_model(tiny_retinanet_cfg(norm))

    return make
