"""TensorboardLoggerHook writes real event files: read back with tensorboard's EventAccumulator."""
from __future__ import annotations

import pytest

from segdet.testing import LinearToy, linear_batches, register_training_hooks, toy_runner

event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")


class _Lin(LinearToy):
    def train_step(self, data, optimizer=None):
        out = super().train_step(data, optimizer)
        out["log_vars"]["loss_aux"] = 0.5
        return out


def test_scalars_and_tags_are_written(tmp_path):
    runner = toy_runner(_Lin(3, 1), work_dir=str(tmp_path), max_epochs=2, momentum=0.9)
    runner.tags = ["exp-a", "shapes"]
    runner_hooks = dict(
        lr_config=dict(policy="step", step=[1]),
        checkpoint_config=dict(interval=-1, save_last=False),
        log_config=dict(interval=2, hooks=[dict(type="TextLoggerHook"), dict(type="TensorboardLoggerHook")]))
    register_training_hooks(runner, runner_hooks)
    runner.run([linear_batches(4, in_features=3, out_features=1)], [("train", 1)])

    acc = event_accumulator.EventAccumulator(str(tmp_path / "tf_logs"),
                                             size_guidance={event_accumulator.TENSORS: 0})
    acc.Reload()
    scalars = acc.Tags()["scalars"]
    assert {"train/loss", "train/loss_aux", "learning_rate", "momentum"} <= set(scalars)
    lr = acc.Scalars("learning_rate")
    assert [e.step for e in lr] == [2, 4, 6, 8]
    assert [e.value for e in lr] == pytest.approx([0.1, 0.1, 0.01, 0.01])
    assert [e.value for e in acc.Scalars("train/loss_aux")] == pytest.approx([0.5] * 4)
    assert all(e.value == pytest.approx(0.9) for e in acc.Scalars("momentum"))
    text_tags = acc.Tags().get("tensors", [])
    assert any(t.startswith("tags") for t in text_tags)
