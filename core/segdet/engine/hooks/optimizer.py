"""Backward, gradient clipping, accumulation and the optimizer step (with a GradScaler under fp16)."""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torch.nn.utils import clip_grad_norm_

from ...errors import NonFiniteLossError
from ..runner_state import RunnerState, require_optimizer
from .base import Hook

__all__ = ["OptimizerHook", "check_finite_loss"]


def check_finite_loss(runner: RunnerState) -> None:
    """Raise :class:`NonFiniteLossError` naming the iteration and the first non-finite loss term."""
    outputs = runner.outputs
    log_vars: Mapping[str, Any] = outputs.get("log_vars", {}) or {}
    bad = [k for k, v in log_vars.items() if isinstance(v, (int, float)) and not math.isfinite(v)]
    if not bad:
        loss = outputs["loss"]
        if isinstance(loss, torch.Tensor) and not bool(torch.isfinite(loss.detach()).all()):
            bad = ["loss"]
    if bad:
        terms = [k for k in bad if k != "loss"] or bad
        values = ", ".join(f"{k}={log_vars.get(k, float('nan'))}" for k in terms)
        raise NonFiniteLossError(
            f"non-finite loss at epoch {runner.epoch + 1}, iteration {runner.iter + 1} "
            f"(inner iteration {runner.inner_iter + 1}): {values}. Training stopped; no checkpoint "
            "was written for this iteration. Lower the learning rate, add warmup or grad_clip, "
            "or check the data of this batch."
        )


class OptimizerHook(Hook):
    """``optimizer_config=dict(grad_clip=dict(max_norm=35, norm_type=2), cumulative_iters=1)``.

    After each training iteration: check the loss is finite, backpropagate
    (scaled by ``runner.grad_scaler`` under fp16), clip, step and zero the gradients.
    With ``cumulative_iters=n`` the loss is divided by n and the step happens every
    n iterations (MMCV's GradientCumulativeOptimizerHook; the tail of the run uses
    the remaining count). ``detect_anomalous_params`` is MMCV's debugging aid
    (parameters that got no gradient are logged).
    """

    priority = "ABOVE_NORMAL"

    def __init__(self, grad_clip: dict | None = None, cumulative_iters: int = 1,
                 detect_anomalous_params: bool = False, check_finite: bool = True) -> None:
        if grad_clip is not None:
            unknown = set(grad_clip) - {"max_norm", "norm_type", "error_if_nonfinite"}
            if unknown or "max_norm" not in grad_clip:
                raise ValueError(f"optimizer_config.grad_clip needs max_norm (and optionally norm_type); "
                                 f"got {dict(grad_clip)}")
        if not isinstance(cumulative_iters, int) or cumulative_iters < 1:
            raise ValueError(f"cumulative_iters must be a positive int, got {cumulative_iters!r}")
        self.grad_clip = dict(grad_clip) if grad_clip else None
        self.cumulative_iters = cumulative_iters
        self.detect_anomalous_params = detect_anomalous_params
        self.check_finite = check_finite
        self._divisible_iters = 0
        self._remainder_iters = 0

    def clip_grads(self, params: Any) -> float | None:
        params = [p for p in params if p.requires_grad and p.grad is not None]
        if not params or self.grad_clip is None:
            return None
        return float(clip_grad_norm_(params, **self.grad_clip))

    def before_run(self, runner: RunnerState) -> None:
        require_optimizer(runner, "OptimizerHook").zero_grad(set_to_none=True)
        residual = (runner.max_iters or 0) - runner.iter
        self._divisible_iters = runner.iter + residual // self.cumulative_iters * self.cumulative_iters
        self._remainder_iters = residual % self.cumulative_iters
        if self.cumulative_iters > 1 and runner.iter % self.cumulative_iters != 0:
            runner.logger.warning("resuming at an iteration that is not a multiple of cumulative_iters; "
                                  "the first accumulation window is shorter")
        if self.cumulative_iters > 1 and _has_batch_norm(runner.model):
            runner.logger.warning("gradient accumulation with BatchNorm: statistics still use the "
                                  "per-iteration batch size")

    def _loss_factor(self, runner: RunnerState) -> int:
        if self.cumulative_iters == 1:
            return 1
        if runner.iter < self._divisible_iters:
            return self.cumulative_iters
        return max(self._remainder_iters, 1)

    def after_train_iter(self, runner: RunnerState) -> None:
        if self.check_finite:
            check_finite_loss(runner)
        loss = runner.outputs["loss"]
        factor = self._loss_factor(runner)
        if factor != 1:
            loss = loss / factor
        scaler = runner.grad_scaler
        (scaler.scale(loss) if scaler is not None else loss).backward()
        if self.detect_anomalous_params:
            self._log_unused(runner)
        if self.cumulative_iters > 1 and not (self.every_n_iters(runner, self.cumulative_iters)
                                              or self.is_last_iter(runner)):
            return
        optimizer = require_optimizer(runner, "OptimizerHook")
        if self.grad_clip is not None:
            if scaler is not None:
                scaler.unscale_(optimizer)
            grad_norm = self.clip_grads(runner.model.parameters())
            if grad_norm is not None:
                runner.log_buffer.update({"grad_norm": grad_norm}, runner.outputs.get("num_samples", 1))
        if scaler is not None:
            scaler.step(optimizer)
            scaler.update()
        else:
            optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    @staticmethod
    def _log_unused(runner: RunnerState) -> None:
        unused = [n for n, p in runner.model.named_parameters() if p.requires_grad and p.grad is None]
        if unused:
            runner.logger.error(f"parameters that received no gradient: {', '.join(unused)}")


def _has_batch_norm(module: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules())
