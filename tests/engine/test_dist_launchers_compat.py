"""--launcher slurm / mpi: rank, world size, local rank and master address from the scheduler's
environment (MMCV's _init_dist_slurm / _init_dist_mpi), then torch.distributed."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap

import pytest

from segdet.engine.dist import dist_env, first_slurm_host
from segdet.errors import ConfigError


@pytest.mark.parametrize("nodelist, host", [
    ("gpu[03-05,9],cpu1", "gpu03"), ("a,b", "a"), ("node-[1-2]", "node-1"),
    ("n[1-2]-ib[3-4]", "n1-ib3"), ("single", "single"), ("x[007]", "x007"),
])
def test_first_slurm_host(nodelist, host):
    assert first_slurm_host(nodelist) == host


def test_slurm_env():
    env = dict(SLURM_PROCID="5", SLURM_NTASKS="8", SLURM_LOCALID="1", SLURM_NODELIST="gpu[12-13]")
    assert dist_env("slurm", env) == dict(RANK="5", WORLD_SIZE="8", LOCAL_RANK="1", MASTER_ADDR="gpu12",
                                          MASTER_PORT="29500")
    env.update(MASTER_PORT="12345", MASTER_ADDR="head")
    assert dist_env("slurm", env, port="999")[("MASTER_ADDR")] == "head"
    assert dist_env("slurm", env)["MASTER_PORT"] == "12345"
    del env["MASTER_PORT"]
    assert dist_env("slurm", env, port="999")["MASTER_PORT"] == "999"
    with pytest.raises(ConfigError, match=r"needs \$SLURM_PROCID; start the run with `srun"):
        dist_env("slurm", dict(SLURM_NTASKS="2"))
    with pytest.raises(ConfigError, match=r"needs \$SLURM_NODELIST"):
        dist_env("slurm", dict(SLURM_PROCID="0", SLURM_NTASKS="2", SLURM_LOCALID="0"))


def test_mpi_env():
    env = dict(OMPI_COMM_WORLD_RANK="3", OMPI_COMM_WORLD_SIZE="4", OMPI_COMM_WORLD_LOCAL_RANK="1",
               MASTER_ADDR="10.0.0.1")
    assert dist_env("mpi", env) == dict(RANK="3", WORLD_SIZE="4", LOCAL_RANK="1", MASTER_ADDR="10.0.0.1",
                                        MASTER_PORT="29500")
    del env["MASTER_ADDR"]
    with pytest.raises(ConfigError, match=r"needs \$MASTER_ADDR, the host of rank 0"):
        dist_env("mpi", env)


def test_pytorch_env_and_unknown_launcher():
    env = dict(RANK="1", WORLD_SIZE="2", LOCAL_RANK="1", MASTER_ADDR="h", MASTER_PORT="1")
    assert dist_env("pytorch", env) == env
    with pytest.raises(ConfigError, match="torchrun"):
        dist_env("pytorch", {})
    with pytest.raises(ValueError, match="'none', 'pytorch', 'slurm', 'mpi'"):
        dist_env("lsf", {})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("launcher", ["slurm", "mpi"])
def test_two_processes_join_through_the_scheduler_environment(launcher):
    """Two real processes given only the scheduler's variables form a gloo group of 2."""
    code = textwrap.dedent(f"""
        import torch, torch.distributed as dist
        from segdet.engine.dist import init_dist, get_dist_info, all_gather_object
        dev = init_dist({launcher!r}, device='cpu')
        rank, world = get_dist_info()
        print('OK', rank, world, dev, all_gather_object(rank * 10), flush=True)
        dist.destroy_process_group()
    """)
    port = str(_free_port())
    procs = []
    for rank in range(2):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("SLURM_", "OMPI_")) and k not in ("RANK", "WORLD_SIZE", "MASTER_ADDR")}
        env.update(OMP_NUM_THREADS="1", MASTER_PORT=port)
        if launcher == "slurm":
            env.update(SLURM_PROCID=str(rank), SLURM_NTASKS="2", SLURM_LOCALID=str(rank),
                       SLURM_NODELIST="localhost")
        else:
            env.update(OMPI_COMM_WORLD_RANK=str(rank), OMPI_COMM_WORLD_SIZE="2",
                       OMPI_COMM_WORLD_LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1")
        procs.append(subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
    outs = [p.communicate(timeout=300) for p in procs]
    for rank, (out, err) in enumerate(outs):
        assert f"OK {rank} 2 cpu [0, 10]" in out, err[-2000:]
