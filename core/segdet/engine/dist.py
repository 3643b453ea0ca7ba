"""torch.distributed helpers: start-up under ``torchrun``, model wrapping, gathering results."""
from __future__ import annotations

import atexit
import logging
import os
import re
import warnings
from collections.abc import Mapping
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from ..errors import ConfigError

__all__ = [
    "LAUNCHERS", "backend_for", "dist_env", "first_slurm_host", "init_dist", "destroy_dist", "get_dist_info", "broadcast_buffers", "all_gather_object", "barrier",
    "StepAdapter", "wrap_for_training", "convert_sync_batchnorm", "revert_sync_batchnorm",
]


LAUNCHERS = ("none", "pytorch", "slurm", "mpi")
_DEFAULT_PORT = "29500"


def first_slurm_host(nodelist: str) -> str:
    """The first host name of a SLURM node list: ``'gpu[03-05,9],cpu1'`` -> ``'gpu03'``.

    Commas inside brackets separate ranges, not hosts; each bracket group stands for its
    first number (zero padding kept), as ``scontrol show hostnames`` would list first.
    """
    depth, first = 0, nodelist
    for i, char in enumerate(nodelist):
        depth += char == "["
        depth -= char == "]"
        if char == "," and depth == 0:
            first = nodelist[:i]
            break
    return re.sub(r"\[([^\]]*)\]", lambda m: re.split(r"[-,]", m.group(1))[0], first.strip())


def dist_env(launcher: str, environ: Mapping[str, str], port: str | None = None) -> dict[str, str]:
    """``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT`` for
    ``torch.distributed`` (``init_method='env://'``), read from the scheduler's environment.

    - ``pytorch`` (``torchrun``): the variables torchrun sets, checked.
    - ``slurm`` (``srun``): ``SLURM_PROCID`` / ``SLURM_NTASKS`` / ``SLURM_LOCALID``; ``MASTER_ADDR``
      is the first host of ``SLURM_NODELIST`` unless set; ``MASTER_PORT`` from the environment,
      else ``port``, else 29500 (MMCV's default).
    - ``mpi`` (``mpirun``, Open MPI): ``OMPI_COMM_WORLD_RANK`` / ``_SIZE`` / ``_LOCAL_RANK``;
      ``MASTER_ADDR`` must be set (the host of rank 0), ``MASTER_PORT`` as for slurm.

    Raises:
        ConfigError: a variable the launcher needs is missing (the message says how to start the run).
    """
    if launcher == "pytorch":
        keys = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
        hint = "start the run with `torchrun --nproc_per_node N $(which segdet) train CFG --launcher pytorch`"
        names = dict(zip(keys, keys))
        local = "LOCAL_RANK"
    elif launcher == "slurm":
        names = {"RANK": "SLURM_PROCID", "WORLD_SIZE": "SLURM_NTASKS"}
        local = "SLURM_LOCALID"
        hint = "start the run with `srun --ntasks N ... segdet train CFG --launcher slurm`"
    elif launcher == "mpi":
        names = {"RANK": "OMPI_COMM_WORLD_RANK", "WORLD_SIZE": "OMPI_COMM_WORLD_SIZE"}
        local = "OMPI_COMM_WORLD_LOCAL_RANK"
        hint = ("start the run with `mpirun -np N -x MASTER_ADDR=<host of rank 0> segdet train CFG "
                "--launcher mpi` (Open MPI)")
    else:
        raise ValueError(f"launcher must be one of {list(LAUNCHERS)}, got {launcher!r}")
    out: dict[str, str] = {}
    for key, source in names.items():
        if source not in environ:
            raise ConfigError(f"--launcher {launcher} needs ${source}; {hint}")
        out[key] = environ[source]
    out["LOCAL_RANK"] = environ.get(local, environ.get("LOCAL_RANK", "0"))
    if launcher == "slurm":
        if "MASTER_ADDR" in environ:
            out["MASTER_ADDR"] = environ["MASTER_ADDR"]
        elif environ.get("SLURM_NODELIST") or environ.get("SLURM_JOB_NODELIST"):
            out["MASTER_ADDR"] = first_slurm_host(environ.get("SLURM_NODELIST") or environ["SLURM_JOB_NODELIST"])
        else:
            raise ConfigError(f"--launcher slurm needs $SLURM_NODELIST (or $MASTER_ADDR); {hint}")
    elif launcher == "mpi":
        if "MASTER_ADDR" not in environ:
            raise ConfigError(f"--launcher mpi needs $MASTER_ADDR, the host of rank 0; {hint}")
        out["MASTER_ADDR"] = environ["MASTER_ADDR"]
    if launcher != "pytorch":
        out["MASTER_PORT"] = environ.get("MASTER_PORT") or port or _DEFAULT_PORT
    return out


def init_dist(launcher: str = "pytorch", backend: str | None = None, device: str | None = None,
              port: str | None = None) -> torch.device:
    """Join the process group of ``launcher`` (``pytorch``: torchrun; ``slurm``: srun; ``mpi``:
    mpirun) and return this rank's device.

    The rank, world size, local rank and master address come from :func:`dist_env` and are put
    into the environment, then ``torch.distributed.init_process_group`` joins with ``env://``.
    The backend is ``nccl`` when the device is CUDA, ``gloo`` otherwise; each rank uses the CUDA
    device ``LOCAL_RANK``. ``backend='nccl'`` (MMDetection's ``dist_params`` default) on a CPU run
    becomes ``gloo`` with a warning: NCCL only drives GPUs.

    The group is destroyed when the interpreter exits (:func:`destroy_dist`, registered with
    ``atexit``): a gloo group left to interpreter finalisation can abort the process with
    ``terminate called without an active exception`` after the run has finished its work.
    """
    os.environ.update(dist_env(launcher, os.environ, port))
    use_cuda = (device or ("cuda" if torch.cuda.is_available() else "cpu")).startswith("cuda")
    backend = backend_for(use_cuda, backend)
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    if use_cuda:
        torch.cuda.set_device(local_rank % max(torch.cuda.device_count(), 1))
        dev = torch.device("cuda", torch.cuda.current_device())
    else:
        dev = torch.device("cpu")
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
        atexit.register(destroy_dist)
    return dev


def destroy_dist() -> None:
    """Leave the process group if this process is in one (a no-op otherwise, so calling it twice
    is safe)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def backend_for(use_cuda: bool, backend: str | None = None) -> str:
    """The process-group backend: ``backend`` if given (``nccl`` only with CUDA, else ``gloo``
    with a warning), otherwise ``nccl`` for CUDA and ``gloo`` for the CPU."""
    if backend is None:
        return "nccl" if use_cuda else "gloo"
    if backend == "nccl" and not use_cuda:
        warnings.warn("dist_params.backend='nccl' needs CUDA devices; this run is on the CPU: "
                      "using gloo (set dist_params=dict(backend='gloo') to silence this)", stacklevel=3)
        return "gloo"
    return backend


def get_dist_info() -> tuple[int, int]:
    """``(rank, world_size)``; ``(0, 1)`` outside a process group."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def barrier() -> None:
    if get_dist_info()[1] > 1:
        dist.barrier()


def all_gather_object(obj: Any) -> list[Any]:
    """Every rank's ``obj``, in rank order (``[obj]`` without a process group)."""
    world_size = get_dist_info()[1]
    if world_size == 1:
        return [obj]
    out: list[Any] = [None] * world_size
    dist.all_gather_object(out, obj)
    return out


def broadcast_buffers(model: nn.Module, src: int = 0) -> None:
    """Copy rank ``src``'s buffers (BatchNorm statistics, EMA averages) to every rank, so all ranks
    evaluate the same model (MMDetection's DistEvalHook ``broadcast_bn_buffer``)."""
    if get_dist_info()[1] == 1:
        return
    for buffer in model.buffers():
        if buffer.is_floating_point() or buffer.dtype in (torch.int64, torch.int32):
            dist.broadcast(buffer.data, src)


class StepAdapter(nn.Module):
    """Routes ``forward(data, mode, optimizer)`` to ``module.train_step`` / ``module.val_step``,
    so that DistributedDataParallel sees the step as its forward and synchronises gradients."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, data: Any, mode: str, optimizer: Any = None) -> Any:
        return getattr(self.module, mode)(data, optimizer)


def wrap_for_training(model: nn.Module, device: torch.device, distributed: bool,
                      find_unused_parameters: bool = False) -> nn.Module | None:
    """The step module the runner calls: DDP over a :class:`StepAdapter` when distributed, else None."""
    if not distributed:
        return None
    from torch.nn.parallel import DistributedDataParallel

    device_ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(StepAdapter(model), device_ids=device_ids,
                                   find_unused_parameters=find_unused_parameters)


def convert_sync_batchnorm(model: nn.Module, device: torch.device, logger: logging.Logger | None = None,
                           distributed: bool | None = None) -> nn.Module:
    """Apply a config's ``norm_cfg=dict(type='SyncBN')`` where it can work.

    Distributed on CUDA: every BatchNorm becomes SyncBatchNorm. Elsewhere (one process, or a
    device whose backend has no SyncBN, such as gloo on CPU) SyncBatchNorm layers go back to
    BatchNorm2d with the same parameters and statistics, with a warning on non-CUDA devices.
    """
    if distributed is None:
        distributed = get_dist_info()[1] > 1
    if device.type == "cuda" and distributed:
        return nn.SyncBatchNorm.convert_sync_batchnorm(model)
    if device.type != "cuda":
        msg = f"SyncBN is not supported on {device.type}; using BatchNorm (statistics per process)"
        warnings.warn(msg, stacklevel=2)
        if logger is not None:
            logger.warning(msg)
    return revert_sync_batchnorm(model)


def revert_sync_batchnorm(module: nn.Module) -> nn.Module:
    """Replace every SyncBatchNorm by a BatchNorm2d holding the same parameters and statistics."""
    out = module
    if isinstance(module, nn.SyncBatchNorm):
        out = nn.BatchNorm2d(module.num_features, module.eps, module.momentum, module.affine,
                             module.track_running_stats)
        if module.affine:
            with torch.no_grad():
                out.weight = module.weight
                out.bias = module.bias
        out.running_mean = module.running_mean
        out.running_var = module.running_var
        out.num_batches_tracked = module.num_batches_tracked
        out.training = module.training
    for name, child in module.named_children():
        out.add_module(name, revert_sync_batchnorm(child))
    return out
