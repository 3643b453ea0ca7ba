"""Time per iteration of the full segdet runner loop vs a bare PyTorch loop, same model and data.

    python bench/train_loop.py [--iters 40] [--repeats 7] [--device cpu]

The runner loop has every default hook (LR schedule with warmup, optimizer with grad clipping,
checkpoint hook, iteration timer, text logging every 20 iterations, progress lines); the bare
loop is a hand-written zero_grad/backward/clip/step that moves the two tensors the model reads
to the device. Both read the same in-memory batches, which carry per-image ``img_metas`` like
a detection batch, so the runner's generic batch-to-device walk is part of what is measured.
Target: overhead < 5%.

The conv net runs with the process's intra-op threads and with one thread: on a busy machine the
CPU time with several threads includes OpenMP threads spinning while they wait for a core, which
swamps the comparison; with one thread it does not. A third pair uses a model with a single scalar parameter: there the difference is the
runner's fixed cost per iteration (hook calls, log buffer, logging, progress), measured with
little noise; divided by the conv net's step time it estimates the overhead on a machine too
busy for the direct comparison to be stable. A last runner row adds 20 hooks in MMCV's style
(a do-nothing method for every stage): the fixed cost must not grow with them.

Runs are interleaved in ABBA order (bare, runner, runner, bare, ...) so drifts in machine load
and warm-up hit both loops alike; the overhead is the median of the per-repeat ratios.
"""
from __future__ import annotations

import argparse
import io
import logging
import statistics
import sys
import tempfile
import time
from typing import Any

import numpy as np
import torch
from torch import nn

from segdet.engine import EpochBasedRunner
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


class IdleHook:
    """An MMCV-style hook: a method for every stage, each doing nothing."""

    priority = "NORMAL"

    def before_run(self, runner: Any) -> None:
        pass

    def before_train_epoch(self, runner: Any) -> None:
        pass

    def before_train_iter(self, runner: Any) -> None:
        pass

    def after_train_iter(self, runner: Any) -> None:
        pass

    def after_train_epoch(self, runner: Any) -> None:
        pass

    def after_run(self, runner: Any) -> None:
        pass


def _metas(batch: int, size: int) -> list[dict[str, Any]]:
    shape = (size, size, 3)
    return [dict(filename=f"{i}.jpg", ori_filename=f"{i}.jpg", ori_shape=shape, img_shape=shape,
                 pad_shape=shape, scale_factor=np.ones(4, dtype=np.float32), flip=False, flip_direction=None,
                 img_norm_cfg=dict(mean=np.zeros(3, np.float32), std=np.ones(3, np.float32), to_rgb=True),
                 batch_input_shape=(size, size)) for i in range(batch)]


def _batches(n: int, batch: int = 4, size: int = 64) -> list[dict[str, Any]]:
    g = torch.Generator().manual_seed(0)
    return [dict(img=torch.randn(batch, 3, size, size, generator=g), label=torch.randint(0, 10, (batch,), generator=g),
                 img_metas=_metas(batch, size)) for _ in range(n)]


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
        data = dict(img=batch["img"].to(device, non_blocking=True),
                    label=batch["label"].to(device, non_blocking=True))
        out = model.train_step(data)
        opt.zero_grad(set_to_none=True)
        out["loss"].backward()
        nn.utils.clip_grad_norm_(model.parameters(), max_norm=35, norm_type=2)
        opt.step()
    _sync(device)
    return _per_iter(start, len(batches))


def runner_loop(batches: list[dict], device: torch.device, work_dir: str,
                null: bool = False, idle_hooks: int = 0) -> tuple[float, float]:
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
    for _ in range(idle_hooks):
        runner.register_hook(IdleHook())
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


def _median(values: list[float]) -> float:
    return float(statistics.median(values))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    batches = _batches(args.iters)
    bare_loop(batches[:5], device)  # warm up kernels and allocator
    null_batches = _batches(10 * args.iters, batch=1, size=1)
    threads = torch.get_num_threads()
    # (label, batches, null model, idle hooks, intra-op threads). One thread as well: with several,
    # the CPU time of a busy machine includes OpenMP threads spinning while they wait for a core.
    cases = ((f"conv net, 4x64x64, {threads} thr", batches, False, 0, threads),
             ("conv net, 4x64x64, 1 thread", batches, False, 0, 1),
             ("null model (machinery)", null_batches, True, 0, threads),
             ("null model + 20 idle hooks", null_batches, True, 20, threads))
    rows = []
    with tempfile.TemporaryDirectory() as work_dir:
        for label, data, null, idle, n_threads in cases:
            torch.set_num_threads(n_threads)
            bare: list[tuple[float, float]] = []
            runner: list[tuple[float, float]] = []
            for r in range(args.repeats):  # ABBA: each loop goes first half of the time
                order = ("bare", "runner") if r % 2 == 0 else ("runner", "bare")
                for which in order:
                    if which == "bare":
                        bare.append(bare_loop(data, device, null))
                    else:
                        runner.append(runner_loop(data, device, work_dir, null, idle))
            rows.append((label, bare, runner))
    torch.set_num_threads(threads)
    # Medians over the repeats, and the median of the per-repeat ratios of CPU time: CPU time is the
    # figure of merit because other jobs on a shared machine inflate wall time far more.
    print(f"train loop: {args.iters} iterations, {args.repeats} ABBA-interleaved repeats (medians), {device}")
    print(f"{'model':<28}{'loop':<16}{'wall ms/it':>12}{'cpu ms/it':>12}{'overhead':>12}")
    stats = []
    for label, bare, runner in rows:
        bw, bc = _median([w for w, _ in bare]), _median([c for _, c in bare])
        rw, rc = _median([w for w, _ in runner]), _median([c for _, c in runner])
        ratio = _median([rcpu / bcpu for (_, rcpu), (_, bcpu) in zip(runner, bare)]) - 1.0
        stats.append((bw, bc, rw, rc, ratio))
        print(f"{label:<28}{'bare PyTorch':<16}{bw * 1e3:>12.3f}{bc * 1e3:>12.3f}{'':>12}")
        print(f"{'':<28}{'segdet runner':<16}{rw * 1e3:>12.3f}{rc * 1e3:>12.3f}{100.0 * ratio:>11.1f}%")
    conv_bare_cpu = min(stats[0][1], stats[1][1])  # the shorter step: the larger share for the fixed cost
    fixed_cpu = stats[2][3] - stats[2][1]
    idle_extra = (stats[3][3] - stats[3][1]) - fixed_cpu  # each against the bare loop of its own repeats
    projected = 100.0 * fixed_cpu / conv_bare_cpu
    print(f"runner fixed cost per iteration (null model, cpu): {fixed_cpu * 1e3:.3f} ms "
          f"= {projected:.2f}% of a conv-net step; 20 idle hooks add {idle_extra * 1e3:+.3f} ms")
    verdicts = [f"{label.split(', ', 2)[-1]} {100.0 * st[4]:.1f}% ({'ok' if st[4] < 0.05 else 'MISSED'})"
                for (label, _, _), st in zip(rows[:2], stats[:2])]
    print(f"target < 5%: measured {', '.join(verdicts)}; "
          f"fixed-cost estimate {projected:.2f}% ({'ok' if projected < 5 else 'MISSED'})")


if __name__ == "__main__":
    main()
