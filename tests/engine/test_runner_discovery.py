"""Runners are found through entry-point group ``segdet.runners``, like every other component."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from torch import nn

from segdet.engine.config_check import check_training_config
from segdet.engine.runner import (
    EpochBasedRunner,
    EpochBasedRunnerAmp,
    IterBasedRunner,
    build_runner,
    runner_class,
    runner_config_keys,
)
from segdet.errors import ConfigError, UnknownComponentError
from segdet.registry import components, register, unregister


def test_builtin_runners_are_entry_points() -> None:
    found = {i.name: i.distribution for i in components("runners")}
    assert {"EpochBasedRunner", "IterBasedRunner", "EpochBasedRunnerAmp"} <= set(found)
    assert found["IterBasedRunner"] == "segdet"
    assert runner_class("EpochBasedRunner") is EpochBasedRunner
    assert runner_class("IterBasedRunner") is IterBasedRunner
    assert runner_class("EpochBasedRunnerAmp") is EpochBasedRunnerAmp
    assert runner_config_keys(IterBasedRunner) == {"max_iters"}
    assert runner_config_keys(EpochBasedRunnerAmp) == {"max_epochs"}


def test_unknown_runner_is_the_registry_error_in_build_and_check() -> None:
    with pytest.raises(UnknownComponentError, match=r"runner\.type.*segdet\.runners.*IterBasedRunner"):
        build_runner({"type": "IterBasedRuner", "max_iters": 2}, {"model": nn.Linear(1, 1)})
    problems = check_training_config({"runner": {"type": "EpochRunner", "max_epochs": 1}})
    assert len(problems) == 1
    assert "unknown runner type 'EpochRunner'" in problems[0] and "EpochBasedRunner" in problems[0]
    problems = check_training_config({"runner": {"type": "Step", "max_epochs": 1}})
    assert "exists in group 'schedulers'" in problems[0]


def test_budget_key_follows_the_runner_kind() -> None:
    with pytest.raises(ConfigError, match=r"IterBasedRunner does not take \['max_epochs'\]"):
        build_runner({"type": "IterBasedRunner", "max_epochs": 2}, {"model": nn.Linear(1, 1)})
    problems = check_training_config({"runner": {"type": "IterBasedRunner", "max_epochs": 2}})
    assert any("does not take 'max_epochs'" in p for p in problems)
    assert any("needs max_iters" in p for p in problems)
    assert check_training_config({"runner": {"type": "EpochBasedRunnerAmp", "max_epochs": 2}}) == []


class _CountingRunner(EpochBasedRunner):
    """A third-party runner with an argument of its own."""

    def __init__(self, model: nn.Module, max_epochs: int | None = None, patience: int = 3,
                 work_dir: str | None = None) -> None:
        super().__init__(model, max_epochs=max_epochs, work_dir=work_dir)
        self.patience = patience


@pytest.fixture()
def counting_runner() -> Iterator[None]:
    register("runners", "CountingRunner")(_CountingRunner)
    yield
    unregister("runners", "CountingRunner")


def test_a_registered_runner_builds_with_its_own_arguments(counting_runner: None, tmp_path) -> None:
    model = nn.Linear(2, 1)
    runner = build_runner({"type": "CountingRunner", "max_epochs": 2, "patience": 5},
                          {"model": model, "work_dir": str(tmp_path)})
    assert isinstance(runner, _CountingRunner)
    assert runner.patience == 5 and runner.max_epochs == 2
    assert runner.model is model
    assert check_training_config({"runner": {"type": "CountingRunner", "max_epochs": 2, "patience": 1}}) == []
    problems = check_training_config({"runner": {"type": "CountingRunner", "max_epochs": 2, "patiense": 1}})
    assert any("did you mean 'patience'" in p for p in problems)
