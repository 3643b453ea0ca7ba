"""EMAHook: MMCV's update formula, swap for evaluation, checkpoint layout, resume."""
from __future__ import annotations

import pytest
import torch
from segdet_hook_ema import EMAHook
from segdet_hook_ema.ema import ema_buffer_name

from segdet.api import Hook
from segdet.testing import LinearToy, linear_batches, read_checkpoint, toy_runner


def _batches(n=4):
    return linear_batches(n, in_features=3, out_features=1)


class _Spy(Hook):
    """Records post-step weights each iteration and the weights seen at evaluation time."""

    def __init__(self) -> None:
        self.weights: list[torch.Tensor] = []
        self.at_eval: list[torch.Tensor] = []
        self.at_start: list[torch.Tensor] = []

    def after_train_iter(self, runner):
        self.weights.append(runner.model.fc.weight.detach().clone())

    def after_train_epoch(self, runner):
        self.at_eval.append(runner.model.fc.weight.detach().clone())

    def before_train_epoch(self, runner):
        self.at_start.append(runner.model.fc.weight.detach().clone())


def _runner(tmp_path, epochs=2, ema_priority=49, resume=None):
    runner = toy_runner(LinearToy(3, 1), work_dir=str(tmp_path), max_epochs=epochs,
                        hooks_cfg=dict(checkpoint_config=dict(interval=1), log_config=dict(interval=100)))
    ema = EMAHook(momentum=0.3, interval=1, warm_up=2)
    runner.register_hook(ema, ema_priority)
    spy = _Spy()
    runner.register_hook(spy, "LOW")  # like EvalHook: after the EMA swap
    if resume:
        runner.resume(resume)
    return runner, ema, spy


def test_update_formula_and_swap_for_evaluation(tmp_path):
    runner, ema, spy = _runner(tmp_path)
    init = runner.model.fc.weight.detach().clone()
    runner.run([_batches()], [("train", 1)])
    expected = init.clone()
    for it, w in enumerate(spy.weights):
        m = min(0.3, (1 + it) / (2 + it))
        expected = expected * (1 - m) + m * w
        if it == 3:
            assert torch.allclose(spy.at_eval[0], expected, atol=1e-6)  # evaluated with the average
    assert torch.allclose(spy.at_eval[1], expected, atol=1e-6)
    # the trained weights come back before the next epoch and at the end of the run
    assert torch.allclose(spy.at_start[1], spy.weights[3])
    assert torch.allclose(runner.model.fc.weight, spy.weights[-1])
    assert torch.allclose(getattr(runner.model, ema_buffer_name("fc.weight")), expected, atol=1e-6)


@pytest.mark.parametrize("priority", [49, "LOW"])
def test_checkpoint_holds_trained_weights_and_averages(tmp_path, priority):
    runner, ema, spy = _runner(tmp_path, epochs=1, ema_priority=priority)
    runner.run([_batches()], [("train", 1)])
    state = read_checkpoint(str(tmp_path / "epoch_1.pth"))["state_dict"]
    assert torch.allclose(state["fc.weight"], spy.weights[-1])
    assert torch.allclose(state["ema_fc_weight"], runner.model.ema_fc_weight)
    assert not torch.allclose(state["fc.weight"], state["ema_fc_weight"])


def test_resume_restores_averages(tmp_path):
    full, _, _ = _runner(tmp_path / "full", epochs=2)
    full.run([_batches()], [("train", 1)])
    part, _, _ = _runner(tmp_path / "part", epochs=1)
    part.run([_batches()], [("train", 1)])
    resumed, _, _ = _runner(tmp_path / "part", epochs=2, resume=str(tmp_path / "part" / "epoch_1.pth"))
    resumed.run([_batches()], [("train", 1)])
    for name in ("fc.weight", "ema_fc_weight", "ema_fc_bias"):
        assert torch.allclose(full.model.state_dict()[name], resumed.model.state_dict()[name], atol=1e-7), name


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="momentum"):
        EMAHook(momentum=1.5)
    assert EMAHook(momentum=0.1, interval=2).momentum == pytest.approx(0.01)
