"""The Swin fork's EpochBasedRunnerAmp and DistOptimizerHook train instead of stopping with an error."""
from __future__ import annotations

import logging

import pytest
import torch

import segdet.testing.toy_detection as toy
from segdet.engine.checkpoint import read_checkpoint
from segdet.engine.env import set_random_seed
from segdet.engine.hooks.dist_optimizer import DistOptimizerHook
from segdet.engine.train import train_model
from segdet.registry import build


def _train(tmp_path, **overrides):
    cfg = toy.toy_config(str(tmp_path), **overrides)
    set_random_seed(0)
    model = build(cfg["model"], "detectors")
    dataset = build(cfg["data"]["train"], "datasets")
    return train_model(model, [dataset], cfg, device="cpu", logger=logging.getLogger("quiet"))


def test_dist_optimizer_hook_accumulates_update_interval_iterations(tmp_path, monkeypatch):
    steps = []
    original = torch.optim.SGD.step

    def counting_step(self, *args, **kwargs):
        steps.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.SGD, "step", counting_step)
    runner = _train(tmp_path, runner=dict(type="EpochBasedRunnerAmp", max_epochs=1),
                    optimizer_config=dict(type="DistOptimizerHook", update_interval=2,
                                          grad_clip=dict(max_norm=10.0), coalesce=True, bucket_size_mb=-1))
    hook = next(h for h in runner.hooks if isinstance(h, DistOptimizerHook))
    assert hook.cumulative_iters == 2 and runner.iter == 4  # 8 images, batch 2
    assert len(steps) == 2  # one optimizer step per update_interval iterations
    ckpt = read_checkpoint(str(tmp_path / "epoch_1.pth"))
    assert "state_dict" in ckpt and ckpt["meta"]["epoch"] == 1


def test_use_fp16_turns_mixed_precision_on_and_the_amp_runner_saves_the_scaler(tmp_path):
    with pytest.warns(UserWarning, match="bfloat16"):
        runner = _train(tmp_path, runner=dict(type="EpochBasedRunnerAmp", max_epochs=1),
                        optimizer_config=dict(type="DistOptimizerHook", update_interval=1, use_fp16=True))
    assert runner.amp.enabled and runner.amp.dtype == torch.bfloat16  # the CPU stand-in for float16
