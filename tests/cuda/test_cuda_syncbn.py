"""SyncBN: ``norm_cfg=dict(type='SyncBN')`` builds SyncBatchNorm; ``convert_sync_batchnorm`` keeps it
for distributed CUDA runs and turns it back into BatchNorm elsewhere. On a GPU: a one-process nccl
group gives BatchNorm's numbers, and two processes on two GPUs give full-batch statistics."""
from __future__ import annotations

import copy
import json
import os
import socket
import subprocess
import sys
import textwrap
import warnings

import pytest
import torch
import torch.distributed as dist
from torch import nn

from segdet.engine.dist import convert_sync_batchnorm
from segdet.engine.runner import to_device
from segdet.models.layers import build_norm_layer
from tests.cuda.cuda_helpers import tiny_batch


def _conv_bn(norm: type[nn.Module] = nn.BatchNorm2d) -> nn.Sequential:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), norm(4))
    with torch.no_grad():
        model[1].weight.uniform_(0.5, 1.5)
        model[1].bias.uniform_(-0.5, 0.5)
    return model


def _group(tmp_path, backend: str) -> None:
    dist.init_process_group(backend, init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)


def test_sync_bn_config_builds_sync_batch_norm(tiny_retinanet):
    name, layer = build_norm_layer(dict(type="SyncBN", requires_grad=False), 8, postfix=1)
    assert name == "bn1" and type(layer) is nn.SyncBatchNorm and not layer.weight.requires_grad
    model = tiny_retinanet(norm="SyncBN")
    assert isinstance(model.backbone.bn1, nn.SyncBatchNorm)
    assert not any(type(m) is nn.BatchNorm2d for m in model.modules())


def test_sync_bn_without_a_process_group_computes_batch_norm():
    sync, ref = _conv_bn(nn.SyncBatchNorm), _conv_bn()
    x = torch.randn(2, 3, 8, 8)
    assert torch.allclose(sync(x), ref(x), atol=1e-6)
    assert torch.allclose(sync[1].running_var, ref[1].running_var)


def test_cpu_process_group_reverts_sync_bn_with_a_warning(tmp_path):
    model = _conv_bn(nn.SyncBatchNorm)
    x = torch.randn(2, 3, 8, 8)
    _group(tmp_path, "gloo")
    try:
        with pytest.raises(ValueError, match="SyncBatchNorm expected input tensor to be on GPU"):
            model(x)  # what torch does on a CPU inside a group, and why segdet reverts first
        with pytest.warns(UserWarning, match="SyncBN is not supported on cpu"):
            reverted = convert_sync_batchnorm(copy.deepcopy(model), torch.device("cpu"), distributed=True)
        assert type(reverted[1]) is nn.BatchNorm2d
        assert torch.allclose(reverted(x), _conv_bn()(x), atol=1e-6)
    finally:
        dist.destroy_process_group()


def test_conversion_for_a_cuda_device_is_decided_without_a_gpu():
    cuda = torch.device("cuda", 0)  # only the device type is read: nothing moves
    converted = convert_sync_batchnorm(_conv_bn(), cuda, distributed=True)
    assert type(converted[1]) is nn.SyncBatchNorm
    assert torch.equal(converted[1].weight, _conv_bn()[1].weight)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # one CUDA process: back to BatchNorm, silently
        single = convert_sync_batchnorm(_conv_bn(nn.SyncBatchNorm), cuda, distributed=False)
    assert type(single[1]) is nn.BatchNorm2d


@pytest.mark.cuda
def test_sync_bn_in_a_one_process_nccl_group_matches_batch_norm(tiny_retinanet, tmp_path):
    torch.backends.cudnn.allow_tf32 = False
    device = torch.device("cuda", 0)
    torch.cuda.set_device(device)
    _group(tmp_path, "nccl")
    try:
        assert dist.get_backend() == "nccl"
        sync = convert_sync_batchnorm(tiny_retinanet(norm="BN"), device, distributed=True).to(device)
        ref = tiny_retinanet(norm="BN").to(device)
        assert isinstance(sync.backbone.bn1, nn.SyncBatchNorm)
        batch = to_device(tiny_batch(), device)
        out_sync, out_ref = sync.train_step(batch)["log_vars"], ref.train_step(batch)["log_vars"]
        for key in ("loss_cls", "loss_bbox"):
            assert out_sync[key] == pytest.approx(out_ref[key], rel=1e-4, abs=1e-5)
        assert torch.allclose(sync.backbone.bn1.running_mean, ref.backbone.bn1.running_mean, atol=1e-5)
    finally:
        dist.destroy_process_group()


_TWO_GPU_WORKER = textwrap.dedent("""
    import copy, json, os, sys
    import torch
    from torch import nn
    from segdet.engine.dist import convert_sync_batchnorm, get_dist_info, init_dist

    torch.backends.cudnn.allow_tf32 = False
    device = init_dist("pytorch")  # CUDA present: nccl, device cuda:LOCAL_RANK
    rank, world = get_dist_info()
    assert world == 2 and torch.distributed.get_backend() == "nccl" and device.type == "cuda"
    torch.manual_seed(0)
    ref = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4))
    x = torch.randn(4, 3, 8, 8)
    model = convert_sync_batchnorm(copy.deepcopy(ref), device, distributed=True).to(device)
    assert isinstance(model[1], nn.SyncBatchNorm)
    y = model(x[2 * rank: 2 * rank + 2].to(device)).cpu()
    full = ref(x).detach()  # BatchNorm over the whole batch of 4, on the CPU
    ok = dict(out=torch.allclose(y, full[2 * rank: 2 * rank + 2], atol=1e-4),
              mean=torch.allclose(model[1].running_mean.cpu(), ref[1].running_mean, atol=1e-5),
              var=torch.allclose(model[1].running_var.cpu(), ref[1].running_var, atol=1e-5))
    json.dump(ok, open(os.path.join(sys.argv[1], f"rank{rank}.json"), "w"))
    torch.distributed.destroy_process_group()
""")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.cuda
@pytest.mark.slow
def test_sync_bn_over_two_gpus_uses_full_batch_statistics(tmp_path):
    if torch.cuda.device_count() < 2:
        pytest.skip(f"needs 2 CUDA devices, found {torch.cuda.device_count()}")
    script = tmp_path / "worker.py"
    script.write_text(_TWO_GPU_WORKER)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc_per_node", "2",
           "--master_addr", "127.0.0.1", "--master_port", str(_free_port()), str(script), str(tmp_path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    for rank in (0, 1):
        assert json.loads((tmp_path / f"rank{rank}.json").read_text()) == dict(out=True, mean=True, var=True)
