"""Time per iteration of the full segdet runner loop vs a bare PyTorch loop, same model and data.

    python bench/train_loop.py [--iters 60] [--repeats 3] [--device cpu]

The runner loop has every default hook (LR schedule with warmup, optimizer with grad clipping,
checkpoint hook, iteration timer, text + JSON logging every 20 iterations, progress lines)
called through pluggy; the bare loop is zero_grad/backward/clip/step. Both read batches from
the same in-memory list, so only the loop machinery differs. Target: overhead < 5%.

A second pair of runs uses a model with a single scalar parameter: there the difference is the
runner's fixed cost per iteration (pluggy hook calls, log buffer, logging, progress), measured
with little noise; divided by the conv net's step time it estimates the overhead on a machine
too busy for the direct comparison to be stable.
"""
from __future__ import annotations

import argparse
import io
import logging
import sys
import tempfile
import time
from typing import Any

import torch
from torch import nn

from segdet.engine import EpochBasedRunner
from segdet.engine.runner import to_device
from segdet.engine.train import register_training_hooks


class BenchNet(nn.Module):
    """A small conv net (about 20 ms per step on a laptop CPU core) with a ``train_step``."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c = 3
        for i in range(4):
            layers += [nn.Conv2d(c, width * (i + 1), 3, stride=2 if i else 1, padding=1),
                       nn.BatchNorm2d(width * (i + 1)), nn.ReLU(inplace=True)]
            c = width * (i + 1)
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(c, 10)

    def train_step(self, data: dict, optimizer: Any = None) -> dict[str, Any]:
        logits = self.head(self.body(data["img"]).mean(dim=(2, 3)))
        loss = nn.functional.cross_entropy(logits, data["label"])
        return dict(loss=loss, log_vars={"loss_cls": loss.item(), "loss": loss.item()},
                    num_samples=data["img"].shape[0])


class NullNet(nn.Module):
    """One scalar parameter: a step costs almost nothing, so the loop machinery is all that is timed."""

    def __init__(self) -> None:
        super().__init__()
        self.p = nn.Parameter(torch.zeros(1))

    def train_step(self, data: dict, optimizer: Any = None) -> dict[str, Any]:
        loss = (self.p * data["img"].mean()).sum()
        return dict(loss=loss, log_vars={"loss": 0.0}, num_samples=1)


def _batches(n: int, batch: int = 4, size: int = 64) -> list[dict[str, torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    return [dict(img=torch.randn(batch, 3, size, size, generator=g), label=torch.randint(0, 10, (batch,), generator=g))
            for _ in range(n)]


def _model_and_opt(device: torch.device, null: bool = False) -> tuple[nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(0)
    model = (NullNet() if null else BenchNet()).to(device)
    return model, torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _per_iter(start: tuple[float, float], n: int) -> tuple[float, float]:
    wall, cpu = _clock()
    return (wall - start[0]) / n, (cpu - start[1]) / n


def bare_loop(batches: list[dict], device: torch.device, null: bool = False) -> tuple[float, float]:
    model, opt = _model_and_opt(device, null)
    model.train()
    _sync(device)
    start = _clock()
    for it, batch in enumerate(batches):
        for group in opt.param_groups:  # the same linear warmup the runner applies
            group["lr"] = 0.01 * (1 - (1 - it / 10) * (1 - 0.1)) if it < 10 else 0.01
        out = model.train_step(to_device(batch, device))
        opt.zero_grad(set_to_none=True)
        out["loss"].backward()
        nn.utils.clip_grad_norm_(model.parameters(), max_norm=35, norm_type=2)
        opt.step()
    _sync(device)
    return _per_iter(start, len(batches))


def runner_loop(batches: list[dict], device: torch.device, work_dir: str,
                null: bool = False) -> tuple[float, float]:
    model, opt = _model_and_opt(device, null)
    logger = logging.getLogger("segdet.bench")
    logger.handlers[:] = [logging.StreamHandler(io.StringIO())]
    logger.propagate = False
    runner = EpochBasedRunner(model, opt, work_dir=work_dir, logger=logger, max_epochs=1, device=device)
    register_training_hooks(runner, dict(
        lr_config=dict(policy="step", step=[100], warmup="linear", warmup_iters=10, warmup_ratio=0.1),
        optimizer_config=dict(grad_clip=dict(max_norm=35, norm_type=2)),
        checkpoint_config=dict(interval=-1, save_last=False),
        log_config=dict(interval=20, hooks=[dict(type="TextLoggerHook")])))
    sink = io.StringIO()
    old = sys.stderr
    sys.stderr = sink  # progress lines
    try:
        _sync(device)
        start = _clock()
        runner.run([batches], [("train", 1)])
        _sync(device)
    finally:
        sys.stderr = old
    return _per_iter(start, len(batches))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    batches = _batches(args.iters)
    bare_loop(batches[:5], device)  # warm up kernels and allocator
    rows = []
    with tempfile.TemporaryDirectory() as work_dir:
        for label, data, null in (("conv net, batch 4x64x64", batches, False),
                                  ("null model (machinery)", _batches(10 * args.iters, batch=1, size=1), True)):
            bare, runner = [], []
            for _ in range(args.repeats):  # interleaved, so drifts in machine load hit both
                bare.append(bare_loop(data, device, null))
                runner.append(runner_loop(data, device, work_dir, null))
            rows.append((label, bare, runner))
    # Best of the repeats: the least disturbed measurement. CPU time is shown beside wall time because
    # other jobs on a shared machine inflate wall time far more than this process's CPU time.
    print(f"train loop: {args.iters} iterations, best of {args.repeats} interleaved repeats, {device}")
    print(f"{'model':<26}{'loop':<16}{'wall ms/it':>12}{'cpu ms/it':>12}{'overhead':>12}")
    stats = []
    for label, bare, runner in rows:
        bw, bc = min(w for w, _ in bare), min(c for _, c in bare)
        rw, rc = min(w for w, _ in runner), min(c for _, c in runner)
        stats.append((bw, bc, rw, rc))
        print(f"{label:<26}{'bare PyTorch':<16}{bw * 1e3:>12.3f}{bc * 1e3:>12.3f}{'':>12}")
        print(f"{'':<26}{'segdet runner':<16}{rw * 1e3:>12.3f}{rc * 1e3:>12.3f}"
              f"{100.0 * (rc - bc) / bc:>11.1f}%")
    conv_bare_cpu = stats[0][1]
    fixed_cpu = stats[1][3] - stats[1][1]
    measured = 100.0 * (stats[0][3] - stats[0][1]) / conv_bare_cpu
    projected = 100.0 * fixed_cpu / conv_bare_cpu
    print(f"runner fixed cost per iteration (null model, cpu): {fixed_cpu * 1e3:.3f} ms "
          f"= {projected:.2f}% of a conv-net step")
    print(f"target < 5%: measured {measured:.1f}% ({'ok' if measured < 5 else 'MISSED'}), "
          f"fixed-cost estimate {projected:.2f}% ({'ok' if projected < 5 else 'MISSED'})")


if __name__ == "__main__":
    main()
