"""A 4-epoch run equals, parameter for parameter on CPU, a 2-epoch run resumed for 2 more."""
from __future__ import annotations

import logging
import os

import pytest
import torch

from segdet import testing as toy
from segdet.engine.env import set_random_seed
from segdet.engine.train import train_model
from segdet.registry import build


def _train(work_dir, max_epochs, resume_from=None, auto_resume=False, workers=0):
    cfg = toy.toy_config(
        str(work_dir),
        model=dict(type="ToyDetector", num_classes=3, width=8, dropout=0.3),
        lr_config=dict(policy="step", step=[3], warmup="linear", warmup_iters=3, warmup_ratio=0.1),
        optimizer_config=dict(grad_clip=dict(max_norm=1.0)),
        runner=dict(type="EpochBasedRunner", max_epochs=max_epochs),
        resume_from=resume_from, auto_resume=auto_resume,
    )
    cfg["data"]["workers_per_gpu"] = workers
    cfg["data"]["train"]["augment"] = workers > 0
    set_random_seed(0)
    model = build(cfg["model"], "detectors")
    dataset = build(cfg["data"]["train"], "datasets")
    runner = train_model(model, [dataset], cfg, validate=False, device="cpu", logger=logging.getLogger("segdet"))
    return runner


@pytest.mark.parametrize("workers", [0, pytest.param(1, marks=pytest.mark.slow)])
def test_resume_equals_uninterrupted(tmp_path, workers):
    """With a worker, random augmentation in the worker must also replay after the resume."""
    full = _train(tmp_path / "full", 4, workers=workers)
    _train(tmp_path / "part", 2, workers=workers)
    assert sorted(p for p in os.listdir(tmp_path / "part") if p.endswith(".pth")) == [
        "epoch_1.pth", "epoch_2.pth", "latest.pth"]
    torch.manual_seed(1234)  # the resumed run must not depend on the RNG state it starts with
    resumed = _train(tmp_path / "part", 4, resume_from=str(tmp_path / "part" / "epoch_2.pth"), workers=workers)
    assert resumed.epoch == full.epoch == 4 and resumed.iter == full.iter == 16
    full_state, resumed_state = full.model.state_dict(), resumed.model.state_dict()
    assert full_state.keys() == resumed_state.keys()
    for key in full_state:
        assert torch.equal(full_state[key], resumed_state[key]), key
    for a, b in zip(full.optimizer.state_dict()["state"].values(), resumed.optimizer.state_dict()["state"].values()):
        assert torch.equal(a["momentum_buffer"], b["momentum_buffer"])
    assert full.current_lr() == resumed.current_lr()


def test_auto_resume_picks_latest(tmp_path):
    _train(tmp_path, 1)
    runner = _train(tmp_path, 2, auto_resume=True)
    assert runner.epoch == 2 and runner.iter == 8
