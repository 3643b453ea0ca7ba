"""Hook calls go through a plan per stage: hooks whose method for a stage does nothing are never called
for it, the others run in priority order, and an iteration costs the same with 0 or 50 idle hooks."""
from __future__ import annotations

import logging
import sys
from types import CodeType

import pluggy
import pytest
import torch

from segdet import testing as toy
from segdet.engine import EpochBasedRunner, HookManager, hookimpl
from segdet.engine.hook_manager import does_nothing


class MmcvStyleBase:
    """Like MMCV's ``Hook``: a do-nothing method for every stage, subclasses override some."""

    priority = "NORMAL"

    def before_run(self, runner):
        pass

    def before_train_iter(self, runner):
        """Nothing by default."""

    def after_train_iter(self, runner):
        ...

    def after_run(self, runner):
        return None


class Counting(MmcvStyleBase):
    def __init__(self, name: str, log: list, priority="NORMAL") -> None:
        self.name, self.log, self.priority = name, log, priority

    def after_train_iter(self, runner):
        self.log.append(self.name)


class _CallSpy:
    """Counts calls of given code objects (or of every Python function) while active, via sys.setprofile."""

    def __init__(self, codes: tuple[CodeType, ...] = ()) -> None:
        self.codes, self.calls = codes, 0

    def _profile(self, frame, event, arg):
        if event == "call" and (not self.codes or frame.f_code in self.codes):
            self.calls += 1

    def __enter__(self) -> _CallSpy:
        self._old = sys.getprofile()
        sys.setprofile(self._profile)
        return self

    def __exit__(self, *exc) -> None:
        sys.setprofile(self._old)


_NOOP_CODES = tuple(getattr(MmcvStyleBase, n).__code__
                    for n in ("before_run", "before_train_iter", "after_train_iter", "after_run"))


def test_does_nothing_recognises_pass_ellipsis_docstring_and_return_none():
    for name in ("before_run", "before_train_iter", "after_train_iter", "after_run"):
        assert does_nothing(getattr(MmcvStyleBase(), name))
    assert not does_nothing(Counting("a", []).after_train_iter)
    assert not does_nothing(print)  # a builtin has no code to inspect: it is called

    def generator(runner):
        yield

    assert not does_nothing(generator)


def test_stage_a_hook_does_not_implement_is_never_called_in_a_run():
    log: list = []
    model = toy.LinearToy()
    runner = EpochBasedRunner(model, torch.optim.SGD(model.parameters(), lr=0.1),
                              logger=logging.getLogger("segdet.test"), max_epochs=2)
    runner.show_progress = False
    runner.register_hook(Counting("low", log, "LOW"))
    runner.register_hook(Counting("high", log, "HIGH"))
    runner.register_hook(MmcvStyleBase())  # implements nothing at all
    runner.register_hook(Counting("normal", log, 50))
    with _CallSpy(_NOOP_CODES) as spy:
        runner.run([toy.linear_batches(3)], [("train", 1)])
    assert spy.calls == 0
    assert log == ["high", "normal", "low"] * 6  # 2 epochs of 3 iterations, priority order each time
    table = runner.get_hook_info()
    assert "after_train_iter:\n(HIGH        ) Counting\n(NORMAL      ) Counting\n(LOW         ) Counting" in table
    assert "MmcvStyleBase" not in table and "before_run:" not in table


def test_idle_hooks_add_no_work_per_call():
    def python_calls(manager: HookManager) -> int:
        manager.call("after_train_iter", runner=None)  # the plan is made on the first call
        with _CallSpy() as spy:
            for _ in range(10):
                manager.call("after_train_iter", runner=None)
        return spy.calls

    log: list = []
    few, many = HookManager(), HookManager()
    for manager in (few, many):
        manager.register(Counting("a", log))
    for _ in range(50):
        many.register(MmcvStyleBase())
    assert python_calls(many) == python_calls(few) > 0
    assert many.implementations("after_train_iter") == many.hooks[:1]


def test_plan_follows_later_registrations():
    log: list = []
    manager = HookManager()
    manager.register(Counting("normal", log))
    manager.call("after_train_iter", runner=None)
    manager.register(Counting("first", log, "HIGHEST"))
    manager.call("after_train_iter", runner=None)
    assert log == ["normal", "first", "normal"]


def test_pluggy_wrappers_still_wrap_the_other_hooks():
    log: list = []

    class Wrapper:
        priority = "LOWEST"

        @hookimpl(wrapper=True)
        def after_train_iter(self, runner):
            log.append("enter")
            yield
            log.append("exit")

    manager = HookManager()
    manager.register(Counting("a", log))
    manager.register(Wrapper())
    manager.register(MmcvStyleBase())
    with _CallSpy(_NOOP_CODES) as spy:
        manager.call("after_train_iter", runner=None)
    assert log == ["enter", "a", "exit"]
    assert spy.calls == 1  # pluggy's own call runs every implementation, the empty one included


def test_rejected_hook_leaves_the_manager_as_it_was():
    log: list = []

    class Bad(MmcvStyleBase):
        def before_run(self, runner, extra):  # does nothing, and is still validated
            pass

    manager = HookManager()
    manager.register(Counting("a", log))
    bad = Bad()
    with pytest.raises(pluggy.PluginValidationError, match="extra"):
        manager.register(bad)
    assert [type(h) for h in manager.hooks] == [Counting] and bad.priority == "NORMAL"
    manager.call("after_train_iter", runner=None)
    assert log == ["a"]


def test_missing_call_argument_is_a_pluggy_error():
    class NeedsCheckpoint:
        def before_save_checkpoint(self, runner, checkpoint):
            checkpoint["seen"] = True

    manager = HookManager()
    manager.register(NeedsCheckpoint())
    ckpt: dict = {}
    manager.call("before_save_checkpoint", runner=None, checkpoint=ckpt)
    assert ckpt == {"seen": True}
    with pytest.raises(pluggy.HookCallError, match="checkpoint"):
        manager.call("before_save_checkpoint", runner=None)


def test_tryfirst_trylast_and_priorities_order_the_same_with_and_without_a_wrapper():
    def make(log: list, name: str, priority, **opts):
        class Marked:
            @hookimpl(**opts)
            def after_train_iter(self, runner):
                log.append(name)

        hook = Marked()
        hook.priority = priority
        return hook

    class Wrapper:
        priority = "NORMAL"

        @hookimpl(wrapper=True)
        def after_train_iter(self, runner):
            yield

    orders = []
    for with_wrapper in (False, True):
        log: list = []
        manager = HookManager()
        manager.register(make(log, "last", "HIGHEST", trylast=True))
        manager.register(make(log, "low", "LOW"))
        manager.register(make(log, "first", "LOWEST", tryfirst=True))
        manager.register(Counting("high", log, "HIGH"))
        manager.register(make(log, "low2", "LOW"))
        if with_wrapper:
            manager.register(Wrapper())
        manager.call("after_train_iter", runner=None)
        orders.append(log)
    assert orders[0] == orders[1] == ["first", "high", "low", "low2", "last"]
