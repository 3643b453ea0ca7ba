"""Keep an exponential moving average of the model's parameters and evaluate with it."""
from __future__ import annotations

from typing import Union

import torch

from segdet.api import Hook, RunnerState

__all__ = ["EMAHook", "ema_buffer_name"]


def ema_buffer_name(param_name: str) -> str:
    """``'backbone.conv1.weight'`` -> ``'ema_backbone_conv1_weight'`` (MMCV's naming)."""
    return f"ema_{param_name.replace('.', '_')}"


class EMAHook(Hook):
    """MMCV's EMAHook: ``custom_hooks=[dict(type='EMAHook', momentum=0.0002, priority=49)]``.

    Every ``interval`` iterations ``ema = (1 - m) * ema + m * param`` with
    ``m = min(momentum ** interval, (1 + iter) / (warm_up + iter))``. The averages live in
    buffers ``ema_<param name with _>`` registered on the model, so checkpoints carry them.
    At the end of each training epoch the averages are swapped into the parameters
    (evaluation and the ``best_*`` checkpoint see the EMA model) and swapped back before
    the next epoch.

    Checkpoints always hold the trained weights as parameters and the averages in the
    ``ema_`` buffers, whatever the hook's priority; ``segdet test`` loads the averages.

    Args:
        momentum: weight of the current parameters in the average.
        interval: update every ``interval`` iterations.
        warm_up: iterations over which the momentum ramps up.
        resume_from: a checkpoint to resume from once the buffers exist (MMCV).
        priority: hook priority (MMDetection configs use 49).
    """

    def __init__(self, momentum: float = 0.0002, interval: int = 1, warm_up: int = 100,
                 resume_from: str | None = None, priority: Union[int, str] = "NORMAL") -> None:
        if not 0 < momentum < 1:
            raise ValueError(f"EMAHook.momentum must be in (0, 1), got {momentum}")
        if interval < 1:
            raise ValueError(f"EMAHook.interval must be >= 1, got {interval}")
        self.momentum = momentum**interval
        self.interval, self.warm_up, self.checkpoint = interval, warm_up, resume_from
        self.priority = priority
        self.param_ema_buffers: dict[str, str] = {}
        self.model_parameters: dict[str, torch.nn.Parameter] = {}
        self.model_buffers: dict[str, torch.Tensor] = {}
        self._pending: dict[str, torch.Tensor] = {}
        self._swapped = False

    def before_run(self, runner: RunnerState) -> None:
        model = runner.model
        self.model_parameters = dict(model.named_parameters(recurse=True))
        existing = dict(model.named_buffers(recurse=True))
        for name, value in self.model_parameters.items():
            buffer_name = ema_buffer_name(name)
            self.param_ema_buffers[name] = buffer_name
            if buffer_name not in existing:
                model.register_buffer(buffer_name, value.data.clone())
        self.model_buffers = dict(model.named_buffers(recurse=True))
        self._load_pending()
        if self.checkpoint is not None:
            runner.resume(self.checkpoint)

    def after_load_checkpoint(self, runner: RunnerState, checkpoint: dict) -> None:
        state = checkpoint.get("state_dict", {})
        self._pending = {k: v for k, v in state.items() if k.startswith("ema_")}
        self._swapped = False
        if self.model_buffers:
            self._load_pending()

    def _load_pending(self) -> None:
        with torch.no_grad():
            for name, value in self._pending.items():
                if name in self.model_buffers:
                    self.model_buffers[name].copy_(value)
        self._pending = {}

    def after_train_iter(self, runner: RunnerState) -> None:
        curr_step = runner.iter
        momentum = min(self.momentum, (1 + curr_step) / (self.warm_up + curr_step))
        if curr_step % self.interval != 0:
            return
        with torch.no_grad():
            for name, parameter in self.model_parameters.items():
                buffer = self.model_buffers[self.param_ema_buffers[name]]
                buffer.mul_(1 - momentum).add_(parameter.data, alpha=momentum)

    def after_train_epoch(self, runner: RunnerState) -> None:
        if not self._swapped:
            self._swap()

    def before_train_epoch(self, runner: RunnerState) -> None:
        if self._swapped:
            self._swap()

    def after_run(self, runner: RunnerState) -> None:
        if self._swapped:
            self._swap()

    def before_save_checkpoint(self, runner: RunnerState, checkpoint: dict) -> None:
        """While swapped, exchange the entries so a checkpoint always has trained weights as parameters.

        ``meta['test_param_sources']`` maps each parameter to the state-dict entry to test with
        (its EMA buffer): ``segdet test`` reads that map and knows nothing of EMA's naming.
        """
        meta = checkpoint.setdefault("meta", {})
        meta["ema"] = True
        meta["test_param_sources"] = dict(self.param_ema_buffers)
        if not self._swapped:
            return
        state = checkpoint["state_dict"]
        for name, buffer_name in self.param_ema_buffers.items():
            if name in state and buffer_name in state:
                state[name], state[buffer_name] = state[buffer_name], state[name]

    def _swap(self) -> None:
        with torch.no_grad():
            for name, value in self.model_parameters.items():
                ema = self.model_buffers[self.param_ema_buffers[name]]
                temp = value.data.clone()
                value.data.copy_(ema.data)
                ema.data.copy_(temp)
        self._swapped = not self._swapped
