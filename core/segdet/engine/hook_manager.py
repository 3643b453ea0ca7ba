"""Call hooks through pluggy in numeric priority order (lower value first, ties by registration)."""
from __future__ import annotations

import dis
import functools
import itertools
from collections.abc import Callable
from types import CodeType
from typing import Any

import pluggy

from .hookspec import PROJECT, STAGES, RunnerHookSpec
from .priority import get_priority

__all__ = ["HookManager", "does_nothing"]

# One planned call: the hook, its bound method, the method's positional and keyword argument names.
_Call = tuple[Any, Callable[..., Any], tuple[str, ...], tuple[str, ...]]


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


@functools.cache
def _empty_body(code: CodeType) -> bool:
    ops = [(ins.opname, ins.argval) for ins in dis.get_instructions(code)
           if ins.opname not in ("RESUME", "NOP", "CACHE")]
    return ops in ([("LOAD_CONST", None), ("RETURN_VALUE", None)], [("RETURN_CONST", None)])


def does_nothing(method: Any) -> bool:
    """True when ``method`` is a plain function whose body is only ``pass``, ``...`` or a docstring.

    Such a method (typically a base class's placeholder, as MMCV's ``Hook`` has one for every
    stage) is never called: calling it cannot have an effect.
    """
    function = getattr(method, "__func__", method)
    code = getattr(function, "__code__", None)
    return isinstance(code, CodeType) and not code.co_flags & _GENERATOR_FLAGS and _empty_body(code)


_GENERATOR_FLAGS = 0x20 | 0x80 | 0x100 | 0x200  # generator, coroutine, iterable coroutine, async generator


class HookManager:
    """Keeps the hooks of a runner sorted by priority and calls them in that order.

    Each hook is registered once with a :class:`pluggy.PluginManager`, which
    validates it (an argument the specification does not know is an error
    naming the hook) and finds its implementations. Calls go through a plan
    made once per stage: the implementations sorted as pluggy would call them
    had the hooks been registered in reverse priority order (``tryfirst``
    ones first, ``trylast`` ones last, and in between by ascending priority
    value, then in the order they were added), without the methods whose
    body does nothing (:func:`does_nothing`). A training iteration therefore
    costs nothing for a hook that does not implement its stages. A stage with
    a pluggy wrapper (``hookimpl(wrapper=True)``) is called through pluggy
    itself, after re-registering the hooks in that order.
    """

    def __init__(self) -> None:
        self._pm = _PluginManager(PROJECT)
        self._pm.add_hookspecs(RunnerHookSpec)
        self._entries: list[tuple[int, int, Any]] = []
        self._rank: dict[str, tuple[int, int]] = {}  # pluggy name -> (priority, registration number)
        self._counter = itertools.count()
        self._plans: dict[str, tuple[_Call, ...] | None] = {}
        self._pluggy_in_order = True

    @property
    def hooks(self) -> list[Any]:
        """Hooks in call order."""
        return [entry[2] for entry in self._entries]

    def register(self, hook: Any, priority: Any = None) -> None:
        """Add ``hook``; ``priority`` (name or int) overrides ``hook.priority`` (default NORMAL)."""
        if priority is None:
            priority = getattr(hook, "priority", "NORMAL")
        value = get_priority(priority)
        seq = next(self._counter)
        name = f"{type(hook).__name__}#{seq}"
        self._pm.register(hook, name=name)  # validates first: a rejected hook changes nothing
        hook.priority = value
        self._entries.append((value, seq, hook))
        self._entries.sort(key=lambda e: (e[0], e[1]))
        self._rank[name] = (value, seq)
        self._plans.clear()
        self._pluggy_in_order = len(self._entries) == 1

    def _ordered_impls(self, stage: str) -> list[Any]:
        """pluggy's implementations of ``stage`` in call order."""
        def key(impl: Any) -> tuple[int, int, int]:
            tier = 0 if impl.tryfirst else 2 if impl.trylast else 1
            return (tier, *self._rank[impl.plugin_name])

        return sorted(getattr(self._pm.hook, stage).get_hookimpls(), key=key)

    def implementations(self, stage: str) -> list[Any]:
        """The hooks called at ``stage``, in call order (methods that do nothing left out)."""
        plan = self._plan(stage)
        if plan is None:
            return [impl.plugin for impl in self._ordered_impls(stage)]
        return [call[0] for call in plan]

    def _plan(self, stage: str) -> tuple[_Call, ...] | None:
        try:
            return self._plans[stage]
        except KeyError:
            pass
        impls = self._ordered_impls(stage)
        plan: tuple[_Call, ...] | None
        if any(impl.wrapper or impl.hookwrapper for impl in impls):
            plan = None  # wrappers run around the others: pluggy's own call does that
        else:
            plan = tuple((impl.plugin, impl.function, tuple(impl.argnames), tuple(impl.kwargnames))
                         for impl in impls if not does_nothing(impl.function))
        self._plans[stage] = plan
        return plan

    def _put_pluggy_in_order(self) -> None:
        """Re-register every hook so that pluggy's own calls follow the priorities
        (pluggy calls the last registered implementation first)."""
        for plugin in list(self._pm.get_plugins()):
            self._pm.unregister(plugin)
        for _, seq, hook in reversed(self._entries):
            self._pm.register(hook, name=f"{type(hook).__name__}#{seq}")
        self._pluggy_in_order = True

    def call(self, stage: str, **kwargs: Any) -> None:
        """Call every hook implementing ``stage`` in priority order."""
        try:
            plan = self._plans[stage]
        except KeyError:
            plan = self._plan(stage)
        if plan is None:
            if not self._pluggy_in_order:
                self._put_pluggy_in_order()
            getattr(self._pm.hook, stage)(**kwargs)
            return
        for _, function, argnames, kwargnames in plan:
            try:
                args = [kwargs[name] for name in argnames]
            except KeyError as err:
                raise pluggy.HookCallError(f"hook call must provide argument {err.args[0]!r}") from err
            if kwargnames:
                function(*args, **{name: kwargs[name] for name in kwargnames if name in kwargs})
            else:
                function(*args)

    def info(self) -> str:
        """MMCV-style table: for each stage, the hooks that implement it with their priority."""
        lines = []
        for stage in STAGES:
            called = {id(h) for h in self.implementations(stage)}
            impls = [(p, h) for p, _, h in self._entries if id(h) in called]
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
