"""Forward+backward time of segdet's Swin-T against torchvision's swin_t, on the same input.

    OMP_NUM_THREADS=2 .venv/bin/python bench/backbones.py [--repeats 10] [--batch 1 2] [--size 224]

Both models are built with random weights (segdet's converted from torchvision's, so both
compute the same function) in train mode with the same stochastic depth (0.2, torchvision's
swin_t default). One step is ``sum of outputs -> backward``; for segdet the outputs are its
four stage maps, for torchvision the classifier logits (its ``features`` -> ``norm`` -> pool
-> ``head``; the pooled head is negligible). Measurements of the two models are interleaved
so that drift of the machine affects both; the table shows median milliseconds per step.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
import torchvision
from segdet_backbone_swin import SwinTransformer, convert_torchvision_swin


def _step(model: torch.nn.Module, x: torch.Tensor) -> None:
    out = model(x)
    loss = sum(o.sum() for o in out) if isinstance(out, (tuple, list)) else out.sum()
    loss.backward()
    model.zero_grad(set_to_none=True)


def _time(model: torch.nn.Module, x: torch.Tensor) -> float:
    start = time.perf_counter()
    _step(model, x)
    return (time.perf_counter() - start) * 1000.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--size", type=int, default=224)
    args = parser.parse_args()

    torch.manual_seed(0)
    tv = torchvision.models.swin_t(weights=None).train()  # stochastic depth 0.2
    seg = SwinTransformer(drop_path_rate=0.2).train()
    seg.load_state_dict(convert_torchvision_swin(tv.state_dict()), strict=False)
    models = {"segdet SwinTransformer": seg, "torchvision swin_t": tv}

    print(f"torch {torch.__version__}, torchvision {torchvision.__version__}, "
          f"threads {torch.get_num_threads()}, input {args.size}x{args.size}, "
          f"{args.repeats} repeats, forward+backward")
    header = f"{'batch':>5}  {'model':<24} {'median ms':>10} {'min ms':>8} {'ratio':>6}"
    print(header)
    print("-" * len(header))
    for batch in args.batch:
        x = torch.randn(batch, 3, args.size, args.size)
        for _ in range(args.warmup):
            for m in models.values():
                _step(m, x)
        times: dict[str, list[float]] = {name: [] for name in models}
        for _ in range(args.repeats):
            for name, m in models.items():
                times[name].append(_time(m, x))
        base = statistics.median(times["torchvision swin_t"])
        for name, ts in times.items():
            med = statistics.median(ts)
            print(f"{batch:>5}  {name:<24} {med:>10.1f} {min(ts):>8.1f} {med / base:>6.2f}")


if __name__ == "__main__":
    main()
