"""A process that joined a process group with ``init_dist`` leaves it before the interpreter is
torn down: gloo groups left to finalisation can abort a finished run with SIGABRT."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

_SCRIPT = textwrap.dedent("""
    import atexit
    import torch.distributed as dist
    from segdet.engine.dist import init_dist

    # atexit runs handlers last-in first-out: this one runs after anything init_dist registers
    atexit.register(lambda: print("initialized at exit:", dist.is_initialized(), flush=True))
    init_dist("pytorch", device="cpu")
    print("joined:", dist.get_backend(), dist.get_world_size(), flush=True)
""")


def test_init_dist_leaves_the_group_at_exit(tmp_path):
    # one rank hosts the store and nobody else connects, so port 0 (any free port) is enough
    env = dict(os.environ, RANK="0", LOCAL_RANK="0", WORLD_SIZE="1", MASTER_ADDR="127.0.0.1",
               MASTER_PORT="0", OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-c", _SCRIPT], env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "joined: gloo 1" in proc.stdout
    assert "initialized at exit: False" in proc.stdout


def test_destroy_dist_without_a_group_is_a_no_op():
    from segdet.engine.dist import destroy_dist, get_dist_info

    destroy_dist()
    destroy_dist()
    assert get_dist_info() == (0, 1)
