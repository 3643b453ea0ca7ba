"""``DistOptimizerHook``: the Swin Transformer detection fork's optimizer hook, on torch's tools.

``optimizer_config=dict(type='DistOptimizerHook', update_interval=1, grad_clip=None,
coalesce=True, bucket_size_mb=-1, use_fp16=True)`` as the fork's Swin configs write it.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..runner_state import RunnerState
from .optimizer import OptimizerHook

__all__ = ["DistOptimizerHook"]


class DistOptimizerHook(OptimizerHook):
    """Optimizer step every ``update_interval`` iterations (gradient accumulation), with clipping.

    Args:
        update_interval: iterations whose gradients are accumulated before one step (the loss is
            divided by it, as the fork does). Default 1.
        grad_clip: ``dict(max_norm=..., norm_type=2)`` or None.
        coalesce: accepted for the fork's configs; gradients are all-reduced by
            DistributedDataParallel, which always coalesces them into buckets. Default True.
        bucket_size_mb: accepted for the fork's configs; DDP's bucket size is its own
            (``bucket_cap_mb``, 25 MB) and is not changed by this hook. Default -1.
        use_fp16: train with mixed precision. ``segdet train`` reads this before it builds the
            runner: float16 autocast and a dynamic GradScaler on CUDA; on a CPU, bfloat16
            autocast without a scaler, with a warning saying so. Default False.
    """

    def __init__(self, update_interval: int = 1, grad_clip: Mapping[str, Any] | None = None,
                 coalesce: bool = True, bucket_size_mb: int = -1, use_fp16: bool = False) -> None:
        super().__init__(grad_clip=dict(grad_clip) if grad_clip is not None else None,
                         cumulative_iters=update_interval)
        self.update_interval = update_interval
        self.coalesce = coalesce
        self.bucket_size_mb = bucket_size_mb
        self.use_fp16 = use_fp16

    def before_run(self, runner: RunnerState) -> None:
        super().before_run(runner)
        amp = getattr(runner, "amp", None)
        if self.use_fp16 and not getattr(amp, "enabled", False):
            runner.logger.warning("DistOptimizerHook(use_fp16=True) but this runner trains in full "
                                  "precision: runs built by `segdet train` turn mixed precision on")
