"""segdet.testing toys: the linear model trains, toy_runner runs hooks, registered cleans up after itself."""
from __future__ import annotations

import pytest
import torch

from segdet.api import Hook, RunnerState, build
from segdet.errors import UnknownComponentError
from segdet.testing import LinearToy, PixelCrossEntropy, linear_batches, registered, toy_runner


class _Count(Hook):
    def __init__(self) -> None:
        self.iters: list[int] = []

    def after_train_iter(self, runner: RunnerState) -> None:
        self.iters.append(runner.iter)


def test_linear_toy_learns_under_an_epoch_runner(tmp_path) -> None:
    batches = linear_batches(4, batch_size=8, seed=1)
    model = LinearToy()
    before = sum(model.train_step(b)["log_vars"]["loss"] for b in batches)
    runner = toy_runner(model, work_dir=str(tmp_path), max_epochs=5, lr=0.1,
                        hooks_cfg=dict(checkpoint_config=dict(interval=5), log_config=dict(interval=100)))
    runner.run([batches], [("train", 1)])
    after = sum(model.train_step(b)["log_vars"]["loss"] for b in batches)
    assert after < 0.8 * before
    assert (tmp_path / "epoch_5.pth").is_file()


def test_iteration_runner_and_hooks(tmp_path) -> None:
    runner = toy_runner(LinearToy(3, 1), work_dir=str(tmp_path), max_iters=6)
    counter = _Count()
    runner.register_hook(counter)
    runner.run([linear_batches(4, in_features=3, out_features=1)], [("train", 6)])
    assert counter.iters == [0, 1, 2, 3, 4, 5]  # runner.iter counts finished iterations


def test_linear_batches_are_deterministic() -> None:
    a, b = linear_batches(2, seed=3), linear_batches(2, seed=3)
    assert all(torch.equal(x["x"], y["x"]) and torch.equal(x["y"], y["y"]) for x, y in zip(a, b))
    assert a[0]["x"].shape == (2, 4) and a[0]["y"].shape == (2, 2)


def test_registered_is_undone_and_restores_a_previous_registration() -> None:
    with registered("losses", "ToysTestCE", PixelCrossEntropy):
        loss = build(dict(type="ToysTestCE"), "losses")
        logits = torch.zeros(2, 3, 4, 4, requires_grad=True)
        value = loss(logits, torch.zeros(2, 4, 4, dtype=torch.long))
        assert value.item() == pytest.approx(float(torch.log(torch.tensor(3.0))))
        value.backward()
        assert logits.grad is not None
    with pytest.raises(UnknownComponentError):
        build(dict(type="ToysTestCE"), "losses")

    class Other(PixelCrossEntropy):
        pass

    with registered("losses", "ToysTestCE", PixelCrossEntropy):
        with registered("losses", "ToysTestCE", Other):
            assert isinstance(build(dict(type="ToysTestCE"), "losses"), Other)
        assert type(build(dict(type="ToysTestCE"), "losses")) is PixelCrossEntropy
