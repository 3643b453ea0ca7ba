"""Call hooks through pluggy in numeric priority order (lower value first, ties by registration)."""
from __future__ import annotations

import itertools
from typing import Any

import pluggy

from .hookspec import PROJECT, STAGES, RunnerHookSpec
from .priority import get_priority

__all__ = ["HookManager"]


class _PluginManager(pluggy.PluginManager):
    """Treats any method named after a lifecycle point as an implementation.

    Hooks therefore need no decorator; a method marked with
    :data:`segdet.engine.hookspec.hookimpl` is accepted as well.
    """

    def parse_hookimpl_opts(self, plugin: Any, name: str) -> Any:
        opts = super().parse_hookimpl_opts(plugin, name)
        if opts is None and name in STAGES and callable(getattr(plugin, name, None)):
            opts = {"wrapper": False, "hookwrapper": False, "optionalhook": False,
                    "tryfirst": False, "trylast": False, "specname": None}
        return opts


class HookManager:
    """Keeps the hooks of a runner sorted by priority and calls them through pluggy.

    pluggy calls implementations last-registered-first, so the manager
    re-registers every hook in reverse priority order whenever one is added:
    a call then runs hooks by ascending priority value, and hooks of equal
    priority in the order they were added.
    """

    def __init__(self) -> None:
        self._pm = _PluginManager(PROJECT)
        self._pm.add_hookspecs(RunnerHookSpec)
        self._entries: list[tuple[int, int, Any]] = []
        self._counter = itertools.count()

    @property
    def hooks(self) -> list[Any]:
        """Hooks in call order."""
        return [entry[2] for entry in self._entries]

    def register(self, hook: Any, priority: Any = None) -> None:
        """Add ``hook``; ``priority`` (name or int) overrides ``hook.priority`` (default NORMAL)."""
        if priority is None:
            priority = getattr(hook, "priority", "NORMAL")
        value = get_priority(priority)
        hook.priority = value
        entry = (value, next(self._counter), hook)
        self._entries.append(entry)
        self._entries.sort(key=lambda e: (e[0], e[1]))
        self._reregister()

    def _reregister(self) -> None:
        for plugin in list(self._pm.get_plugins()):
            self._pm.unregister(plugin)
        for _, seq, hook in reversed(self._entries):
            self._pm.register(hook, name=f"{type(hook).__name__}#{seq}")

    def call(self, stage: str, **kwargs: Any) -> None:
        """Call every hook implementing ``stage`` in priority order."""
        getattr(self._pm.hook, stage)(**kwargs)

    def info(self) -> str:
        """MMCV-style table: for each stage, the hooks that implement it with their priority."""
        lines = []
        for stage in STAGES:
            impls = [(p, h) for p, _, h in self._entries if callable(getattr(h, stage, None))]
            if not impls:
                continue
            lines.append(f"{stage}:")
            for prio, hook in impls:
                lines.append(f"({_priority_name(prio):<12}) {type(hook).__name__}")
            lines.append(" -------------------- ")
        return "\n".join(lines)


def _priority_name(value: int) -> str:
    from .priority import Priority

    try:
        return Priority(value).name
    except ValueError:
        return str(value)
