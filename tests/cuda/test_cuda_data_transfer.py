"""Batches from the loader to the device: the loader pins host memory when CUDA is there
(data/builder.py), the runner's ``to_device`` copies tensors that are not on the device yet,
asynchronously from pinned memory only, and leaves the metadata alone; on a GPU a pinned batch
arrives intact."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from segdet.data.builder import build_dataloader
from segdet.engine.runner import to_device
from segdet.testing.toy_detection import ToyDataset
from tests.cuda.cuda_helpers import tiny_batch


@pytest.fixture
def spy_to(monkeypatch):
    """The keyword arguments of every ``Tensor.to`` call."""
    calls: list[dict] = []
    original = torch.Tensor.to

    def to(self, *args, **kwargs):
        calls.append(kwargs)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "to", to)
    return calls


def _pinned(batch):
    return {k: (v.pin_memory() if isinstance(v, torch.Tensor) else
                [t.pin_memory() for t in v] if k.startswith("gt_") else v) for k, v in batch.items()}


def test_to_device_copies_unpinned_tensors_blocking_and_keeps_metadata(spy_to):
    batch = tiny_batch()
    batch["img_metas"][0]["scale_factor"] = np.ones(4, np.float32)
    moved = to_device(batch, torch.device("meta"))  # a device other than the CPU, without a GPU
    assert len(spy_to) == 1 + 2 + 2  # img, two gt_bboxes, two gt_labels
    assert all(kw.get("non_blocking") is False for kw in spy_to)  # pageable memory: a safe copy
    assert moved["img"].device.type == "meta" and [t.device.type for t in moved["gt_labels"]] == ["meta"] * 2
    assert moved["img_metas"] is batch["img_metas"]
    assert isinstance(moved["img_metas"][0]["scale_factor"], np.ndarray)


def test_to_device_leaves_tensors_already_there(spy_to):
    batch = tiny_batch()
    moved = to_device(batch, torch.device("cpu"))
    assert spy_to == [] and moved["img"] is batch["img"] and moved["gt_bboxes"][1] is batch["gt_bboxes"][1]


def test_loader_pins_memory_exactly_when_cuda_is_available():
    loader = build_dataloader(ToyDataset(num=4), samples_per_gpu=2, workers_per_gpu=0, shuffle=False)
    assert loader.pin_memory is torch.cuda.is_available()


@pytest.mark.cuda
def test_loader_batches_are_pinned_and_copied_asynchronously(spy_to):
    loader = build_dataloader(ToyDataset(num=4), samples_per_gpu=2, workers_per_gpu=0, shuffle=False)
    batch = next(iter(loader))
    assert batch["img"].is_pinned() and all(b.is_pinned() for b in batch["gt_bboxes"])
    moved = to_device(batch, torch.device("cuda", 0))
    assert spy_to and all(kw.get("non_blocking") is True for kw in spy_to)
    torch.cuda.synchronize()
    assert torch.equal(moved["img"].cpu(), batch["img"])


@pytest.mark.cuda
def test_pinned_batch_arrives_on_cuda_intact_from_a_side_stream():
    batch = _pinned(tiny_batch())
    stream = torch.cuda.Stream()
    with torch.cuda.stream(stream):
        moved = to_device(batch, torch.device("cuda", 0))
    stream.synchronize()
    assert moved["img"].device.type == "cuda" and torch.equal(moved["img"].cpu(), batch["img"])
    assert [t.device.type for t in moved["gt_labels"]] == ["cuda", "cuda"]
    assert torch.equal(moved["gt_bboxes"][1].cpu(), batch["gt_bboxes"][1])
