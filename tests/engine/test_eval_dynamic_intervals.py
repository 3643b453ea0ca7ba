"""evaluation.dynamic_intervals (MMDetection 2.x, YOLOX configs): the interval changes at milestones."""
from __future__ import annotations

import json
import logging

import pytest

import segdet.testing.toy_detection as toy
from segdet.engine.env import set_random_seed
from segdet.engine.train import train_model
from segdet.registry import build


def _val_epochs(tmp_path, evaluation, epochs=5):
    cfg = toy.toy_config(str(tmp_path), evaluation=evaluation, runner=dict(type="EpochBasedRunner", max_epochs=epochs),
                         checkpoint_config=dict(interval=100))
    set_random_seed(0)
    model = build(cfg["model"], "detectors")
    dataset = build(cfg["data"]["train"], "datasets")
    train_model(model, [dataset], cfg, validate=True, device="cpu", logger=logging.getLogger("quiet"))
    (log,) = tmp_path.glob("*.log.json")
    lines = [json.loads(x) for x in log.read_text().splitlines()]
    return [x["epoch"] for x in lines if x.get("mode") == "val"]


def test_interval_changes_at_the_milestone(tmp_path):
    # every 2 epochs, then every epoch from epoch 3 on: evaluations after epochs 2, 3, 4, 5
    assert _val_epochs(tmp_path, dict(interval=2, metric="bbox", dynamic_intervals=[(3, 1)])) == [2, 3, 4, 5]


def test_without_dynamic_intervals_the_interval_stays(tmp_path):
    assert _val_epochs(tmp_path, dict(interval=2, metric="bbox")) == [2, 4]


def test_bad_dynamic_intervals_are_refused(tmp_path):
    with pytest.raises(ValueError, match="dynamic_intervals"):
        _val_epochs(tmp_path, dict(interval=2, metric="bbox", dynamic_intervals=[(3, 0)]))
