"""Learning-rate updater hook and its builder from ``lr_config``."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Union

from ..schedules import Schedule
from .param_scheduler import ParamSchedulerHook, policy_to_type

__all__ = ["LrUpdaterHook", "build_lr_hook"]

_HOOK_KEYS = ("by_epoch", "warmup", "warmup_iters", "warmup_ratio", "warmup_by_epoch")


class LrUpdaterHook(ParamSchedulerHook):
    """Set each param group's ``lr`` from ``schedule`` every epoch or iteration, with warmup.

    Args:
        schedule: a :class:`~segdet.engine.schedules.Schedule` or ``dict(type='Step', step=[8, 11])``.
        by_epoch: schedule by epoch (default of the schedule, True except OneCycle/Cyclic).
        warmup: ``'linear'``, ``'constant'``, ``'exp'`` or None.
        warmup_iters: iterations (or epochs with ``warmup_by_epoch``) of warmup.
        warmup_ratio: the lr at the start of warmup is ``warmup_ratio * regular_lr``.
    """

    priority = "VERY_HIGH"
    _initial_key = "initial_lr"

    def __init__(self, schedule: Union[Schedule, Mapping[str, Any]], by_epoch: bool | None = None,
                 warmup: str | None = None, warmup_iters: int = 0, warmup_ratio: float = 0.1,
                 warmup_by_epoch: bool = False) -> None:
        super().__init__(schedule, by_epoch, warmup, warmup_iters, warmup_ratio, warmup_by_epoch)

    def _get(self, group: dict) -> float:
        return float(group["lr"])

    def _set(self, group: dict, value: float) -> None:
        group["lr"] = value

    def _warm(self, value: float, cur_iter: int) -> float:
        assert self.warmup_iters
        if self.warmup == "constant":
            return value * self.warmup_ratio
        if self.warmup == "linear":
            k = (1 - cur_iter / self.warmup_iters) * (1 - self.warmup_ratio)
            return value * (1 - k)
        k = self.warmup_ratio ** (1 - cur_iter / self.warmup_iters)
        return value * k

    def state_dict(self) -> dict[str, Any]:
        return {"base_values": list(self.base_values)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.base_values = list(state.get("base_values", self.base_values))


def build_lr_hook(lr_config: Mapping[str, Any], default_by_epoch: bool | None = None) -> LrUpdaterHook:
    """``lr_config=dict(policy='step', step=[8, 11], warmup='linear', ...)`` -> :class:`LrUpdaterHook`.

    The policy's own keys go to schedule ``policy.title()`` of group ``segdet.schedulers``
    (checked against its signature); warmup keys and ``by_epoch`` go to the hook.
    ``default_by_epoch`` (False under an IterBasedRunner) applies when ``by_epoch`` is not set.
    """
    cfg = dict(lr_config)
    if "type" in cfg and "policy" not in cfg:
        return _hook_from_type(cfg)
    policy = cfg.pop("policy", None)
    if not isinstance(policy, str):
        raise ValueError(f"lr_config.policy must be a name such as 'step', got {policy!r}")
    hook_kwargs = {k: cfg.pop(k) for k in _HOOK_KEYS if k in cfg}
    schedule = dict(type=policy_to_type(policy), **cfg)
    if "by_epoch" not in hook_kwargs and default_by_epoch is not None and policy_to_type(policy) not in (
            "OneCycle", "Cyclic"):
        hook_kwargs["by_epoch"] = default_by_epoch
    return LrUpdaterHook(schedule=schedule, **hook_kwargs)


def _hook_from_type(cfg: dict) -> LrUpdaterHook:
    from ...registry import build

    hook = build(cfg, "hooks")
    if not isinstance(hook, LrUpdaterHook):
        raise TypeError(f"lr_config.type must name an LrUpdaterHook, got {type(hook).__name__}")
    return hook
