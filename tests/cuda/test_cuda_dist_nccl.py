"""Process groups: nccl for CUDA runs, gloo for CPU runs (also when a config inherits MMDetection's
``dist_params=dict(backend='nccl')``), each rank on CUDA device ``LOCAL_RANK``; on a GPU, a
one-process nccl group reduces CUDA tensors and DDP over segdet's step adapter trains."""
from __future__ import annotations

import socket

import pytest
import torch
import torch.distributed as dist

from segdet import testing as toy
from segdet.engine import dist as segdet_dist
from segdet.engine.dist import all_gather_object, backend_for, init_dist, wrap_for_training


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def one_rank_env(monkeypatch):
    """torchrun's variables for a single rank (restored after the test)."""
    for key, value in dict(RANK="0", WORLD_SIZE="1", LOCAL_RANK="0", MASTER_ADDR="127.0.0.1",
                           MASTER_PORT=str(_free_port())).items():
        monkeypatch.setenv(key, value)


def test_backend_follows_the_device():
    assert backend_for(use_cuda=True) == "nccl"
    assert backend_for(use_cuda=False) == "gloo"
    assert backend_for(use_cuda=True, backend="gloo") == "gloo"  # gloo also reduces CUDA tensors
    with pytest.warns(UserWarning, match="backend='nccl' needs CUDA.*using gloo"):
        assert backend_for(use_cuda=False, backend="nccl") == "gloo"


def test_cpu_run_with_the_mmdetection_nccl_default_joins_gloo(one_rank_env):
    with pytest.warns(UserWarning, match="using gloo"):
        device = init_dist("pytorch", backend="nccl", device="cpu")
    try:
        assert device == torch.device("cpu") and dist.get_backend() == "gloo"
        assert all_gather_object({"rank": 0}) == [{"rank": 0}]
    finally:
        dist.destroy_process_group()


def test_cuda_rank_takes_device_local_rank_and_nccl(monkeypatch, one_rank_env):
    """The CUDA branch of init_dist without a GPU: torch.cuda's device calls and the group start are
    recorded instead of run."""
    monkeypatch.setenv("LOCAL_RANK", "3")
    calls: dict[str, object] = {}
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "set_device", lambda i: calls.setdefault("set_device", i))
    monkeypatch.setattr(torch.cuda, "current_device", lambda: calls["set_device"])
    monkeypatch.setattr(segdet_dist.dist, "is_initialized", lambda: False)
    monkeypatch.setattr(segdet_dist.dist, "init_process_group", lambda backend: calls.setdefault("backend", backend))
    device = init_dist("pytorch", device="cuda")
    assert device == torch.device("cuda", 1) and calls == {"set_device": 1, "backend": "nccl"}


@pytest.mark.cuda
def test_one_process_nccl_group_reduces_and_trains_with_ddp(one_rank_env):
    torch.backends.cuda.matmul.allow_tf32 = False
    device = init_dist("pytorch")  # CUDA present: nccl on cuda:0
    try:
        assert device == torch.device("cuda", 0) and dist.get_backend() == "nccl"
        t = torch.full((3,), 2.0, device=device)
        dist.all_reduce(t)
        assert t.tolist() == [2.0, 2.0, 2.0]
        torch.manual_seed(0)
        model = toy.LinearToy().to(device)
        plain = toy.LinearToy().to(device)
        plain.load_state_dict(model.state_dict())
        step = wrap_for_training(model, device, distributed=True)
        assert isinstance(step, torch.nn.parallel.DistributedDataParallel) and step.device_ids == [0]
        batch = {k: v.to(device) for k, v in toy.linear_batches(1, batch_size=4, seed=7)[0].items()}
        step(batch, "train_step", None)["loss"].backward()
        plain.train_step(batch)["loss"].backward()
        for a, b in zip(model.parameters(), plain.parameters()):
            assert torch.allclose(a.grad, b.grad, atol=1e-6)
    finally:
        dist.destroy_process_group()
