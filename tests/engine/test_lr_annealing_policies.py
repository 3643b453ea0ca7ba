"""CosineRestart, FlatCosineAnnealing and LinearAnnealing against MMCV's formulas, written out here."""
from __future__ import annotations

import logging
import math

import pytest
import torch

from segdet.engine import EpochBasedRunner, Hook, IterBasedRunner
from segdet.engine.hooks import build_lr_hook
from segdet.errors import ConfigError
from segdet.testing import LinearToy, linear_batches

BASE_LR = 0.1
PER_EPOCH = 5


class _Recorder(Hook):
    priority = "NORMAL"

    def __init__(self) -> None:
        self.lrs: list[float] = []

    def before_train_iter(self, runner) -> None:
        self.lrs.append(runner.optimizer.param_groups[0]["lr"])


def _run(lr_config, epochs=None, iters=None):
    model = LinearToy()
    opt = torch.optim.SGD(model.parameters(), lr=BASE_LR, momentum=0.9)
    cls = EpochBasedRunner if epochs else IterBasedRunner
    runner = cls(model, opt, work_dir=None, logger=logging.getLogger("test"), max_epochs=epochs, max_iters=iters)
    runner.show_progress = False
    runner.register_hook(build_lr_hook(lr_config, None if epochs else False))
    rec = _Recorder()
    runner.register_hook(rec)
    runner.run([linear_batches(PER_EPOCH)], [("train", 1)])
    return rec.lrs


def _cos(start, end, factor, weight=1.0):
    return end + 0.5 * weight * (start - end) * (math.cos(math.pi * factor) + 1)


def test_cosine_restart_by_iter():
    periods, weights, min_lr = [4, 6, 5], [1.0, 0.5, 0.25], 0.001
    lrs = _run(dict(policy="CosineRestart", periods=periods, restart_weights=weights, min_lr=min_lr,
                    by_epoch=False), epochs=3)
    expected = []
    for it in range(15):
        idx = 0 if it < 4 else 1 if it < 10 else 2
        start = [0, 4, 10][idx]
        expected.append(_cos(BASE_LR, min_lr, (it - start) / periods[idx], weights[idx]))
    assert lrs == pytest.approx(expected, rel=1e-9)
    assert lrs[4] == pytest.approx(min_lr + 0.5 * (BASE_LR - min_lr))  # restart at half weight


def test_cosine_restart_by_epoch_uses_epochs():
    lrs = _run(dict(policy="CosineRestart", periods=[2, 2], restart_weights=[1, 1], min_lr_ratio=0.1),
               epochs=4)
    for it, lr in enumerate(lrs):
        epoch = it // PER_EPOCH
        start = 0 if epoch < 2 else 2
        assert lr == pytest.approx(_cos(BASE_LR, BASE_LR * 0.1, (epoch - start) / 2))


def test_cosine_restart_periods_shorter_than_the_run_is_a_clear_error():
    with pytest.raises(ConfigError, match="make the periods cover the run"):
        _run(dict(policy="CosineRestart", periods=[3], restart_weights=[1], min_lr=0.0, by_epoch=False),
             epochs=1)
    with pytest.raises(ConfigError, match="same length"):
        build_lr_hook(dict(policy="CosineRestart", periods=[3, 3], restart_weights=[1], min_lr=0.0))


def test_flat_cosine_annealing_by_iter():
    lrs = _run(dict(policy="FlatCosineAnnealing", start_percent=0.4, min_lr=0.002, by_epoch=False),
               iters=20)
    start = round(20 * 0.4)
    expected = [BASE_LR if it < start else _cos(BASE_LR, 0.002, (it - start) / (20 - start))
                for it in range(20)]
    assert lrs == pytest.approx(expected, rel=1e-9)
    assert lrs[:start] == [BASE_LR] * start


def test_flat_cosine_rejects_start_percent_out_of_range():
    with pytest.raises(ConfigError, match="start_percent"):
        build_lr_hook(dict(policy="FlatCosineAnnealing", start_percent=1.0, min_lr=0.0))


def test_linear_annealing_by_epoch_with_ratio():
    lrs = _run(dict(policy="LinearAnnealing", min_lr_ratio=0.05), epochs=4)
    target = BASE_LR * 0.05
    expected = [BASE_LR + (target - BASE_LR) * (it // PER_EPOCH) / 4 for it in range(20)]
    assert lrs == pytest.approx(expected, rel=1e-9)


def test_annealing_needs_exactly_one_target():
    with pytest.raises(ConfigError, match="exactly one of min_lr and min_lr_ratio"):
        build_lr_hook(dict(policy="LinearAnnealing", min_lr=0.0, min_lr_ratio=0.1))
