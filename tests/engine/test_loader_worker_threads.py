"""Loader workers run torch single-threaded, never deadlock on OpenCV's thread pool, keep their
seeding, and batches go to the device once: metas are not walked, tensors already there are not
copied."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from segdet.data.builder import build_dataloader
from segdet.engine.runner import to_device


class _ThreadReport(torch.utils.data.Dataset):
    """Each sample reports the thread counts and a NumPy draw of the process that made it."""

    def __len__(self) -> int:
        return 4

    def __getitem__(self, i: int) -> dict:
        return dict(img=torch.zeros(3, 4, 4), torch_threads=torch.get_num_threads(),
                    draw=float(np.random.rand()))


@pytest.mark.parametrize("seed", [None, 3])
def test_workers_use_one_intra_op_thread(seed):
    before = torch.get_num_threads()
    loader = build_dataloader(_ThreadReport(), samples_per_gpu=2, workers_per_gpu=2, shuffle=False, seed=seed)
    batches = list(loader)
    assert len(batches) == 2
    for batch in batches:
        assert batch["torch_threads"] == [1, 1]
    assert torch.get_num_threads() == before  # the training process keeps its threads
    assert loader.pin_memory == torch.cuda.is_available()


_AFTER_OPENCV_POOL = textwrap.dedent("""
    import cv2, numpy as np, torch
    from segdet.data.builder import build_dataloader

    class Resized(torch.utils.data.Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            img = np.random.rand(600, 600, 3).astype(np.float32)
            return dict(img=torch.from_numpy(cv2.resize(img, (300, 300))))

    cv2.setNumThreads(2)
    big = np.random.rand(1500, 1500, 3).astype(np.float32)
    for _ in range(3):  # the parent's OpenCV pool has run before the workers fork
        cv2.GaussianBlur(cv2.resize(big, (900, 900)), (5, 5), 0)
    batches = list(build_dataloader(Resized(), samples_per_gpu=2, workers_per_gpu=2, seed=0))
    print(len(batches), tuple(batches[0]["img"][0].shape))
""")


def test_workers_do_not_deadlock_after_the_parent_used_opencv_threads():
    """A worker forked from a process whose OpenCV pool has run must not touch cv2.setNumThreads:
    it would wait forever on a pool lock held by a thread that does not exist in the child (this
    hung the whole test suite in CI). The run is a subprocess so a regression fails, not hangs."""
    pytest.importorskip("cv2")
    # its own process group: on a hang the loader workers (grandchildren) are killed too, instead
    # of staying behind forever holding the output pipes
    proc = subprocess.Popen([sys.executable, "-c", _AFTER_OPENCV_POOL], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail("the loader hung after the parent had used OpenCV's thread pool (worker deadlock)")
    assert proc.returncode == 0, err[-2000:]
    assert out.split() == ["2", "(300,", "300,", "3)"]


def test_worker_seeding_still_reproducible():
    def draws() -> list[float]:
        loader = build_dataloader(_ThreadReport(), samples_per_gpu=2, workers_per_gpu=2, shuffle=False, seed=5)
        return [d for _ in range(2) for batch in loader for d in batch["draw"]]

    first = draws()
    assert first == draws()
    assert len(set(first)) == len(first)  # workers and epochs draw differently


def test_to_device_walks_tensors_only_and_leaves_metas():
    metas = [dict(img_shape=(4, 4, 3), scale_factor=np.ones(4, dtype=np.float32))]
    img = torch.zeros(1, 3, 4, 4)
    batch = dict(img=img, img_metas=metas, gt_bboxes=[torch.zeros(2, 4)], pair=(torch.ones(1), 5))
    moved = to_device(batch, torch.device("cpu"))
    assert moved["img"] is img and moved["img_metas"] is metas
    assert moved["gt_bboxes"][0] is batch["gt_bboxes"][0] and moved["pair"][1] == 5
    assert isinstance(moved["pair"], tuple) and moved is not batch


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA: pinned memory and an asynchronous copy")
def test_to_device_copies_pinned_batches_to_cuda():
    batch = dict(img=torch.arange(6.0).reshape(1, 1, 2, 3).pin_memory(), label=[torch.tensor([1])])
    moved = to_device(batch, torch.device("cuda", torch.cuda.current_device()))
    torch.cuda.synchronize()
    assert moved["img"].is_cuda and moved["label"][0].is_cuda
    assert torch.equal(moved["img"].cpu(), batch["img"])
