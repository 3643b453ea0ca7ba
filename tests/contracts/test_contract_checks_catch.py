"""The contract checks fail on components that break their group's promises, saying what broke."""
from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from segdet.registry import register, unregister
from segdet.testing import ContractViolation, check_component, component_problems


class GoodNeck(nn.Module):
    """1x1 conv per level.

    Args:
        in_channels: channels of each input level.
        out_channels: channels of every output level (8).
        bad_channels: declare one more channel than produced (False).
        bad_strides: declare stride 1 everywhere (False).
    """

    def __init__(self, in_channels: list[int], out_channels: int = 8, bad_channels: bool = False,
                 bad_strides: bool = False) -> None:
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(c, out_channels, 1) for c in in_channels)
        self.out_channels = [out_channels + int(bad_channels)] * len(in_channels)
        n = len(in_channels)
        self.strides = [1] * n if bad_strides else [32 // 2 ** (n - 1 - i) for i in range(n)]

    def forward(self, feats: list[torch.Tensor]) -> tuple[torch.Tensor, ...]:
        return tuple(conv(f) for conv, f in zip(self.convs, feats))


class SloppyLoss(nn.Module):
    """Squared error that may forget its weight, its reduction or its gradient.

    Args:
        reduction: 'none' | 'mean' | 'sum'.
        loss_weight: factor.
        flaw: '' (a correct loss), 'weight', 'none', 'detach' or 'lenient'.
    """

    def __init__(self, reduction: str = "mean", loss_weight: float = 1.0, flaw: str = "") -> None:
        super().__init__()
        if reduction not in ("none", "mean", "sum") and flaw != "lenient":
            raise ValueError(f"bad reduction {reduction!r}")
        self.reduction, self.loss_weight, self.flaw = reduction, loss_weight, flaw

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        loss = (pred.detach() if self.flaw == "detach" else pred) - target
        loss = loss ** 2
        if self.reduction == "mean" or (self.reduction == "none" and self.flaw == "none"):
            loss = loss.mean()
        elif self.reduction == "sum":
            loss = loss.sum()
        return loss if self.flaw == "weight" else self.loss_weight * loss


class TypoHook:
    """Means to log after each iteration, but misspells the hook point."""

    def after_train_iteration(self, runner: Any) -> None:
        pass


class WrongArgHook:
    """Implements a real point with an argument the runner never passes."""

    def before_run(self, runner: Any, trainer: Any) -> None:
        pass


class DropTransform:
    """Returns nothing instead of the results dict."""

    def __call__(self, results: dict[str, Any]) -> None:
        results.pop("img")


class NoEvaluateMetric:
    """Has compute() but not evaluate(results, dataset)."""

    def compute(self) -> dict[str, float]:
        return {}


class AnyKwargsNeck(GoodNeck):
    """Swallows unknown keys."""

    def __init__(self, in_channels: list[int], **kwargs: Any) -> None:
        super().__init__(in_channels)


_LOCAL = [("necks", GoodNeck), ("necks", AnyKwargsNeck), ("losses", SloppyLoss), ("hooks", TypoHook),
          ("hooks", WrongArgHook), ("transforms", DropTransform), ("metrics", NoEvaluateMetric)]


@pytest.fixture(autouse=True)
def _registered() -> Iterator[None]:
    for group, cls in _LOCAL:
        register(group, force=True)(cls)
    yield
    for group, cls in _LOCAL:
        unregister(group, cls.__name__)


def test_a_good_neck_passes_and_is_returned_built() -> None:
    neck = check_component("GoodNeck", "necks", in_channels=[4, 8, 8])
    assert neck.strides == [8, 16, 32] and neck.out_channels == [8, 8, 8]


def test_neck_channels_and_strides_must_match_outputs() -> None:
    assert any("out_channels is [9, 9] but the outputs have [8, 8] channels" in p
               for p in component_problems("GoodNeck", "necks", in_channels=[4, 8], bad_channels=True))
    problems = component_problems("GoodNeck", "necks", in_channels=[4, 8], bad_strides=True)
    assert len(problems) == 2 and all("does not match its declared stride 1" in p for p in problems)


def test_kwargs_swallowing_is_reported() -> None:
    (problem,) = component_problems("AnyKwargsNeck", "necks", in_channels=[4, 8])
    assert "swallows unknown keys with **kwargs" in problem and "AnyKwargsNeck (local" in problem


def test_a_correct_loss_passes() -> None:
    assert component_problems("SloppyLoss", "losses") == []


@pytest.mark.parametrize("flaw, message", [
    ("weight", "loss_weight=2.0 gives"),
    ("none", "reduction='none' must keep a per-element"),
    ("detach", "does not depend differentiably on its prediction"),
    ("lenient", "reduction='average' was accepted"),
])
def test_loss_flaws_are_caught(flaw: str, message: str) -> None:
    with pytest.raises(ContractViolation, match=message):
        check_component("SloppyLoss", "losses", flaw=flaw)


def test_hook_method_names_must_be_hookspec_points() -> None:
    problems = component_problems("TypoHook", "hooks")
    assert any("'after_train_iteration' is not a hookspec name" in p and "did you mean 'after_train_iter'" in p
               for p in problems)
    assert any("implements none of the hookspec points" in p for p in problems)


def test_hook_arguments_must_be_the_specs() -> None:
    (problem,) = component_problems("WrongArgHook", "hooks")
    assert "the runner refuses it" in problem and "trainer" in problem, problem


def test_transform_must_return_the_results_dict() -> None:
    (problem,) = component_problems("DropTransform", "transforms")
    assert "maps a results dict to NoneType" in problem


def test_metric_needs_evaluate() -> None:
    (problem,) = component_problems("NoEvaluateMetric", "metrics")
    assert "evaluate(results, dataset)" in problem


@pytest.mark.segdet_component("GoodNeck", "necks", in_channels=[4, 8, 8])
@pytest.mark.segdet_component("GoodNeck", "necks", in_channels=[8, 8], out_channels=4)
def test_marker_gives_the_checked_instance(segdet_component: Any) -> None:
    assert isinstance(segdet_component, GoodNeck)
    assert len(segdet_component.strides) == len(segdet_component.convs)


_PLUGIN_TEST = '''
import torch
from torch import nn

import segdet


@segdet.register("necks")
class LyingNeck(nn.Module):
    """Declares 9 output channels but produces 8.

    Args:
        in_channels: input channels of each level.
    """

    def __init__(self, in_channels: list = (4,)) -> None:
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(c, 8, 1) for c in in_channels)
        self.out_channels = [9] * len(in_channels)
        self.strides = [32 // 2 ** (len(in_channels) - 1 - i) for i in range(len(in_channels))]

    def forward(self, feats):
        return tuple(conv(f) for conv, f in zip(self.convs, feats))


import pytest


@pytest.mark.segdet_component("LyingNeck", "necks", in_channels=[4, 8])
def test_contract(segdet_component):
    pass
'''


def test_marker_reports_a_broken_contract_in_a_plugin_test_run(tmp_path: Path) -> None:
    """What a plugin author sees: the test fails, naming the component and the broken promise."""
    (tmp_path / "test_lying.py").write_text(_PLUGIN_TEST)
    proc = subprocess.run([sys.executable, "-m", "pytest", "test_lying.py", "-p", "no:cacheprovider", "-q"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600,
                          env={k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"})
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert "test_contract[necks/LyingNeck(in_channels=[4, 8])]" in proc.stdout
    assert "ContractViolation: LyingNeck (local" in proc.stdout
    assert "out_channels is [9, 9] but the outputs have [8, 8] channels" in proc.stdout
