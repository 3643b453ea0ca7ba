"""LR and momentum sequences of the updater hooks against MMCV's formulas, computed here independently."""
from __future__ import annotations

import logging
import math

import pytest
import torch

from segdet import testing as toy
from segdet.engine import EpochBasedRunner, Hook, IterBasedRunner
from segdet.engine.hooks import build_lr_hook, build_momentum_hook

BASE_LR = 0.1


class _Recorder(Hook):
    priority = "NORMAL"

    def __init__(self) -> None:
        self.lrs: list[float] = []
        self.moms: list[float] = []

    def before_train_iter(self, runner) -> None:  # after the updaters (VERY_HIGH / HIGH)
        self.lrs.append(runner.optimizer.param_groups[0]["lr"])
        group = runner.optimizer.param_groups[0]
        self.moms.append(group["momentum"] if "momentum" in group else group["betas"][0])


def _run(lr_config, epochs=None, iters=None, iters_per_epoch=5, momentum_config=None, optimizer="SGD"):
    model = toy.LinearToy()
    if optimizer == "SGD":
        opt = torch.optim.SGD(model.parameters(), lr=BASE_LR, momentum=0.9)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=BASE_LR, betas=(0.9, 0.999))
    cls = EpochBasedRunner if epochs else IterBasedRunner
    runner = cls(model, opt, work_dir=None, logger=logging.getLogger("test"),
                 max_epochs=epochs, max_iters=iters)
    runner.show_progress = False
    runner.register_hook(build_lr_hook(lr_config, None if epochs else False))
    if momentum_config:
        runner.register_hook(build_momentum_hook(momentum_config, None if epochs else False))
    rec = _Recorder()
    runner.register_hook(rec)
    loader = toy.linear_batches(iters_per_epoch)
    runner.run([loader], [("train", 1)])
    return rec


def _warm_linear(lr, it, warmup_iters, ratio):
    return lr * (1 - (1 - it / warmup_iters) * (1 - ratio))


def test_step_by_epoch_with_linear_warmup():
    rec = _run(dict(policy="step", step=[2, 3], gamma=0.1, warmup="linear", warmup_iters=7,
                    warmup_ratio=0.001), epochs=4)
    expected = []
    for it in range(20):
        epoch = it // 5
        regular = BASE_LR * 0.1 ** sum(epoch >= s for s in (2, 3))
        expected.append(_warm_linear(regular, it, 7, 0.001) if it < 7 else regular)
    assert rec.lrs == pytest.approx(expected, rel=1e-9)


def test_step_int_with_min_lr():
    rec = _run(dict(policy="step", step=1, gamma=0.1, min_lr=5e-4), epochs=4)
    expected = [max(BASE_LR * 0.1 ** (it // 5), 5e-4) for it in range(20)]
    assert rec.lrs == pytest.approx(expected)


def test_cosine_by_iter_with_exp_warmup():
    rec = _run(dict(policy="CosineAnnealing", min_lr_ratio=0.01, by_epoch=False, warmup="exp",
                    warmup_iters=4, warmup_ratio=0.1), epochs=3)
    expected = []
    for it in range(15):
        target = BASE_LR * 0.01
        regular = target + 0.5 * (BASE_LR - target) * (math.cos(math.pi * it / 15) + 1)
        expected.append(regular * 0.1 ** (1 - it / 4) if it < 4 else regular)
    assert rec.lrs == pytest.approx(expected)


def test_cosine_by_epoch_min_lr():
    rec = _run(dict(policy="CosineAnnealing", min_lr=0.001), epochs=4)
    expected = []
    for it in range(20):
        e = it // 5
        expected.append(0.001 + 0.5 * (BASE_LR - 0.001) * (math.cos(math.pi * e / 4) + 1))
    assert rec.lrs == pytest.approx(expected)


def test_poly_by_iter_iter_runner():
    rec = _run(dict(policy="poly", power=0.9, min_lr=1e-4), iters=12)
    expected = [(BASE_LR - 1e-4) * (1 - it / 12) ** 0.9 + 1e-4 for it in range(12)]
    assert rec.lrs == pytest.approx(expected)


def test_exp_and_constant_warmup():
    rec = _run(dict(policy="exp", gamma=0.9, warmup="constant", warmup_iters=3, warmup_ratio=0.5), epochs=3)
    expected = []
    for it in range(15):
        regular = BASE_LR * 0.9 ** (it // 5)
        expected.append(regular * 0.5 if it < 3 else regular)
    assert rec.lrs == pytest.approx(expected)


def test_fixed_with_warmup_by_epoch():
    rec = _run(dict(policy="fixed", warmup="linear", warmup_iters=1, warmup_by_epoch=True, warmup_ratio=0.2),
               epochs=2)
    expected = [_warm_linear(BASE_LR, it, 5, 0.2) if it < 5 else BASE_LR for it in range(10)]
    assert rec.lrs == pytest.approx(expected)


@pytest.mark.parametrize("three_phase", [False, True])
@pytest.mark.parametrize("strategy", ["cos", "linear"])
def test_one_cycle(three_phase, strategy):
    total, max_lr, div, final_div, pct = 20, 0.5, 25.0, 1e4, 0.3
    rec = _run(dict(policy="OneCycle", max_lr=max_lr, pct_start=pct, anneal_strategy=strategy,
                    div_factor=div, final_div_factor=final_div, three_phase=three_phase), iters=total)
    anneal = ((lambda s, e, f: e + 0.5 * (s - e) * (math.cos(math.pi * f) + 1)) if strategy == "cos"
              else (lambda s, e, f: s + (e - s) * f))
    init = max_lr / div
    if three_phase:
        phases = [(pct * total - 1, init, max_lr), (2 * pct * total - 2, max_lr, init),
                  (total - 1, init, init / final_div)]
    else:
        phases = [(pct * total - 1, init, max_lr), (total - 1, max_lr, init / final_div)]
    expected = []
    for it in range(total):
        start = 0.0
        for i, (end, lo, hi) in enumerate(phases):
            if it <= end or i == len(phases) - 1:
                expected.append(anneal(lo, hi, (it - start) / (end - start)))
                break
            start = end
    assert rec.lrs == pytest.approx(expected)
    assert max(rec.lrs) == pytest.approx(max_lr, rel=0.05)


def test_cyclic_lr_and_momentum():
    total = 20
    rec = _run(dict(policy="cyclic", target_ratio=(10, 1e-4), cyclic_times=2, step_ratio_up=0.4),
               iters=total, momentum_config=dict(policy="cyclic", target_ratio=(0.85 / 0.95, 1),
                                                 cyclic_times=2, step_ratio_up=0.4))
    per_phase = total // 2
    up = int(0.4 * per_phase)

    def cos(s, e, f):
        return e + 0.5 * (s - e) * (math.cos(math.pi * f) + 1)

    lrs, moms = [], []
    for it in range(total):
        c = it % per_phase
        if c < up:
            lrs.append(cos(BASE_LR, BASE_LR * 10, c / up))
            moms.append(cos(0.9, 0.9 * 0.85 / 0.95, c / up))
        else:
            f = (c - up) / (per_phase - up)
            lrs.append(cos(BASE_LR * 10, BASE_LR * 1e-4, f))
            moms.append(cos(0.9 * 0.85 / 0.95, 0.9, f))
    assert rec.lrs == pytest.approx(lrs)
    assert rec.moms == pytest.approx(moms)


def test_cosine_momentum_by_epoch_adam_betas():
    rec = _run(dict(policy="fixed"), epochs=3, optimizer="Adam",
               momentum_config=dict(policy="CosineAnnealing", min_momentum_ratio=0.5))
    expected = [0.45 + 0.5 * 0.45 * (math.cos(math.pi * (it // 5) / 3) + 1) for it in range(15)]
    assert rec.moms == pytest.approx(expected)


def test_one_cycle_momentum():
    total = 10
    rec = _run(dict(policy="OneCycle", max_lr=0.5), iters=total,
               momentum_config=dict(policy="OneCycle", base_momentum=0.85, max_momentum=0.95, pct_start=0.3))

    def cos(s, e, f):
        return e + 0.5 * (s - e) * (math.cos(math.pi * f) + 1)

    end1 = 0.3 * total - 1
    expected = [cos(0.95, 0.85, it / end1) if it <= end1 else cos(0.85, 0.95, (it - end1) / (total - 1 - end1))
                for it in range(total)]
    assert rec.moms == pytest.approx(expected)


def test_unknown_policy_names_group_and_close_matches():
    from segdet.errors import UnknownComponentError

    with pytest.raises(UnknownComponentError, match="schedulers.*CosineAnnealing"):
        build_lr_hook(dict(policy="CosineAnealing", min_lr=0.0))


def test_wrong_schedule_argument_is_reported():
    from segdet.errors import ComponentArgumentError

    with pytest.raises(ComponentArgumentError, match="gama"):
        build_lr_hook(dict(policy="step", step=[1], gama=0.1))


def test_one_cycle_refuses_by_epoch():
    with pytest.raises(ValueError, match="iteration only"):
        build_lr_hook(dict(policy="OneCycle", max_lr=0.1, by_epoch=True))
