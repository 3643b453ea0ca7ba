"""Momentum updater hook (SGD ``momentum`` or Adam ``betas[0]``) and its builder."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Union

from ..schedules import Schedule
from .param_scheduler import ParamSchedulerHook, policy_to_type

__all__ = ["MomentumUpdaterHook", "build_momentum_hook"]

_HOOK_KEYS = ("by_epoch", "warmup", "warmup_iters", "warmup_ratio", "warmup_by_epoch")


class MomentumUpdaterHook(ParamSchedulerHook):
    """Set each group's momentum from ``schedule`` (e.g. ``dict(type='CosineAnnealingMomentum', ...)``).

    Warmup divides the momentum (MMCV): linear ``m / (1 - k)``, constant ``m / ratio``, exp ``m / k``.
    """

    priority = "HIGH"
    _initial_key = "initial_momentum"

    def __init__(self, schedule: Union[Schedule, Mapping[str, Any]], by_epoch: bool | None = None,
                 warmup: str | None = None, warmup_iters: int = 0, warmup_ratio: float = 0.9,
                 warmup_by_epoch: bool = False) -> None:
        super().__init__(schedule, by_epoch, warmup, warmup_iters, warmup_ratio, warmup_by_epoch)

    def _get(self, group: dict) -> float:
        if "momentum" in group:
            return float(group["momentum"])
        if "betas" in group:
            return float(group["betas"][0])
        raise KeyError("the optimizer has neither 'momentum' nor 'betas' to schedule")

    def _set(self, group: dict, value: float) -> None:
        if "momentum" in group:
            group["momentum"] = value
        elif "betas" in group:
            group["betas"] = (value, group["betas"][1])

    def _warm(self, value: float, cur_iter: int) -> float:
        assert self.warmup_iters
        if self.warmup == "constant":
            return value / self.warmup_ratio
        if self.warmup == "linear":
            k = (1 - cur_iter / self.warmup_iters) * (1 - self.warmup_ratio)
            return value / (1 - k)
        k = self.warmup_ratio ** (1 - cur_iter / self.warmup_iters)
        return value / k


def build_momentum_hook(momentum_config: Mapping[str, Any],
                        default_by_epoch: bool | None = None) -> MomentumUpdaterHook:
    """``momentum_config=dict(policy='cyclic', target_ratio=..., ...)`` -> :class:`MomentumUpdaterHook`
    with schedule ``<Policy>Momentum`` of group ``segdet.schedulers``."""
    cfg = dict(momentum_config)
    policy = cfg.pop("policy", None)
    if not isinstance(policy, str):
        raise ValueError(f"momentum_config.policy must be a name such as 'CosineAnnealing', got {policy!r}")
    hook_kwargs = {k: cfg.pop(k) for k in _HOOK_KEYS if k in cfg}
    name = policy_to_type(policy, "Momentum")
    if "by_epoch" not in hook_kwargs and default_by_epoch is not None and name not in (
            "OneCycleMomentum", "CyclicMomentum"):
        hook_kwargs["by_epoch"] = default_by_epoch
    return MomentumUpdaterHook(schedule=dict(type=name, **cfg), **hook_kwargs)
