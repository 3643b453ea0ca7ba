"""TensorboardLoggerHook writes real event files: read back with tensorboard's EventAccumulator."""
from __future__ import annotations

import logging

import pytest
import torch
from torch import nn

from segdet.engine import EpochBasedRunner
from segdet.engine.train import register_training_hooks

event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")


class _Lin(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 1)

    def train_step(self, data, optimizer=None):
        loss = ((self.fc(data["x"]) - data["y"]) ** 2).mean()
        return dict(loss=loss, log_vars={"loss": float(loss.detach()), "loss_aux": 0.5}, num_samples=len(data["x"]))


def test_scalars_and_tags_are_written(tmp_path):
    torch.manual_seed(0)
    model = _Lin()
    runner = EpochBasedRunner(model, torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
                              work_dir=str(tmp_path), logger=logging.getLogger("segdet"), max_epochs=2)
    runner.show_progress = False
    runner.tags = ["exp-a", "shapes"]
    register_training_hooks(runner, dict(
        lr_config=dict(policy="step", step=[1]),
        checkpoint_config=dict(interval=-1, save_last=False),
        log_config=dict(interval=2, hooks=[dict(type="TextLoggerHook"), dict(type="TensorboardLoggerHook")])))
    g = torch.Generator().manual_seed(0)
    batches = [dict(x=torch.randn(2, 3, generator=g), y=torch.randn(2, 1, generator=g)) for _ in range(4)]
    runner.run([batches], [("train", 1)])

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
