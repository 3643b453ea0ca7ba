"""Hooks through pluggy: call order follows priorities deterministically; the table printed at start."""
from __future__ import annotations

import logging

import pluggy
import pytest

from segdet import testing as toy
from segdet.engine import EpochBasedRunner, Hook, HookManager, Priority, get_priority, hookimpl


class _Rec(Hook):
    def __init__(self, name: str, log: list, priority="NORMAL") -> None:
        self.name, self.log, self.priority = name, log, priority

    def before_run(self, runner):
        self.log.append(("before_run", self.name))

    def after_train_iter(self, runner):
        self.log.append(("after_train_iter", self.name))


def test_priority_values_match_mmcv():
    assert [p.value for p in (Priority.VERY_HIGH, Priority.HIGH, Priority.ABOVE_NORMAL, Priority.NORMAL,
                              Priority.BELOW_NORMAL, Priority.LOW, Priority.VERY_LOW)] == [10, 30, 40, 50, 60, 70, 90]
    assert get_priority("low") == 70 and get_priority(49) == 49
    with pytest.raises(ValueError, match="unknown hook priority"):
        get_priority("MEDIUM")
    with pytest.raises(ValueError):
        get_priority(101)


@pytest.mark.parametrize("order", [[0, 1, 2, 3, 4], [4, 3, 2, 1, 0], [2, 0, 4, 1, 3]])
def test_call_order_is_priority_then_registration(order):
    specs = [("a", "LOW"), ("b", "HIGH"), ("c", "NORMAL"), ("d", 49), ("e", "NORMAL")]
    log: list = []
    manager = HookManager()
    for i in order:
        name, prio = specs[i]
        manager.register(_Rec(name, log, prio))
    manager.call("before_run", runner=None)
    names = [n for _, n in log]
    expected = sorted(order, key=lambda i: (get_priority(specs[i][1]), order.index(i)))
    assert names == [specs[i][0] for i in expected]
    assert names[0] == "b" and names[1] == "d" and names[-1] == "a"


def test_decorated_and_plain_methods_both_work():
    log: list = []

    class Decorated:
        priority = "VERY_HIGH"

        @hookimpl
        def before_run(self, runner):
            log.append("decorated")

    manager = HookManager()
    manager.register(_Rec("plain", log))
    manager.register(Decorated())
    manager.call("before_run", runner=None)
    assert log == ["decorated", ("before_run", "plain")]


def test_wrong_hook_signature_is_rejected_naming_hook_and_argument():
    class Bad(Hook):
        def before_run(self, runner, extra):
            pass

    with pytest.raises(pluggy.PluginValidationError, match="extra"):
        HookManager().register(Bad())


def test_runner_runs_hooks_and_prints_table(caplog):
    log: list = []
    model = toy.LinearToy()
    import torch

    runner = EpochBasedRunner(model, torch.optim.SGD(model.parameters(), lr=0.1),
                              logger=logging.getLogger("segdet.test"), max_epochs=1)
    runner.show_progress = False
    runner.register_hook(_Rec("low", log, "LOW"))
    runner.register_hook(_Rec("high", log, "HIGH"))
    with caplog.at_level(logging.INFO, logger="segdet.test"):
        runner.run([toy.linear_batches(2)], [("train", 1)])
    assert log == [("before_run", "high"), ("before_run", "low"),
                   ("after_train_iter", "high"), ("after_train_iter", "low"),
                   ("after_train_iter", "high"), ("after_train_iter", "low")]
    table = runner.get_hook_info()
    assert "before_run:\n(HIGH        ) _Rec\n(LOW         ) _Rec" in table
    assert "Hooks will be executed in the following order" in caplog.text
