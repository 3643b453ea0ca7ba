"""bench/gpu.py: one clear line and exit 0 without a GPU; ``--device cpu --dry-run`` runs the
whole CUDA code path (both libraries, autocast + GradScaler, channels-last, FLOP check) on the CPU."""
from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

BENCH = Path(__file__).resolve().parents[2] / "bench" / "gpu.py"


def _bench_module():
    spec = importlib.util.spec_from_file_location("bench_gpu", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(*args: str, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(BENCH), *args], capture_output=True, text=True,
                          timeout=timeout, env=dict(os.environ, OMP_NUM_THREADS="2"))


@pytest.mark.skipif(torch.cuda.is_available(), reason="with a GPU the bench measures instead")
def test_without_cuda_one_line_and_exit_0():
    proc = _run(timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == _bench_module().NO_CUDA_LINE + "\n"
    assert proc.stdout.startswith("bench/gpu.py: no CUDA device (torch.cuda.is_available() is False)")


def test_dry_run_defaults_and_argument_errors(capsys):
    gpu = _bench_module()
    args = gpu.parse_args(["--device", "cpu", "--dry-run"])
    assert (args.size, args.iters, args.warmup) == (64, 1, 1)
    assert args.models == ["retinanet", "mask_rcnn"] and args.modes == list(gpu.MODES)
    full = gpu.parse_args([])
    assert (full.device, full.size, full.iters, full.warmup) == ("cuda", 512, 20, 5)
    with pytest.raises(SystemExit):
        gpu.parse_args(["--modes", "fp32,int8"])
    assert "--modes: unknown ['int8']" in capsys.readouterr().err


@pytest.mark.slow
def test_dry_run_runs_the_gpu_code_path_on_the_cpu():
    proc = _run("--device", "cpu", "--dry-run", "--batch", "1", "--modes", "fp32,amp-fp16+channels-last",
                timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert "DRY RUN" in out
    for title in ("RetinaNet-R18-w32", "Mask R-CNN R18-w32"):
        for mode in ("fp32", "amp-fp16+channels-last"):
            for phase in ("train", "infer"):
                row = re.search(rf"^{re.escape(title)}\s+{re.escape(mode)}\s+{phase}\s+([\d.]+)\s+([\d.]+)", out, re.M)
                assert row, f"no row {title} {mode} {phase} in:\n{out}"
                assert float(row.group(1)) > 0 and float(row.group(2)) > 0
    flops = re.findall(r"(train|infer) GFLOP per step: segdet ([\d.]+), torchvision ([\d.]+)", out)
    assert len(flops) == 4 and all(float(a) > 0 and float(b) > 0 for _, a, b in flops)
    assert "no ratio" not in out  # the narrow peers do equal work too: every row has its ratio
