"""Training behaviours: non-finite losses, gradient accumulation, logs, evaluation and best checkpoints,
iteration-based runs, mixed precision on the CPU."""
from __future__ import annotations

import json
import logging
import os

import pytest
import torch

from segdet import testing as toy
from segdet.engine import EpochBasedRunner, EvalHook, IterBasedRunner
from segdet.engine.amp import amp_settings
from segdet.engine.env import set_random_seed
from segdet.engine.train import register_training_hooks, train_model
from segdet.errors import ConfigError, NonFiniteLossError
from segdet.registry import build

LOG = logging.getLogger("segdet")


def _toy_run(tmp_path, validate=False, **overrides):
    cfg = toy.toy_config(str(tmp_path), **overrides)
    set_random_seed(0)
    model = build(cfg["model"], "detectors")
    dataset = build(cfg["data"]["train"], "datasets")
    return train_model(model, [dataset], cfg, validate=validate, device="cpu", logger=LOG,
                       meta=dict(seed=0, tags=["t1"]))


def test_non_finite_loss_names_iteration_and_term(tmp_path):
    with pytest.raises(NonFiniteLossError, match=r"iteration 3 .*loss_bbox=nan"):
        _toy_run(tmp_path, model=dict(type="ToyDetector", nan_at_iter=3))
    assert not any(p.endswith(".pth") for p in os.listdir(tmp_path))


def test_json_log_has_one_object_per_logged_iteration(tmp_path):
    runner = _toy_run(tmp_path, validate=True)
    logs = [p for p in os.listdir(tmp_path) if p.endswith(".log.json")]
    assert logs == [f"{runner.timestamp}.log.json"]
    lines = [json.loads(line) for line in (tmp_path / logs[0]).read_text().splitlines()]
    header, entries = lines[0], lines[1:]
    assert header["seed"] == 0 and header["tags"] == ["t1"]
    train = [e for e in entries if e["mode"] == "train"]
    val = [e for e in entries if e["mode"] == "val"]
    assert [(e["epoch"], e["iter"]) for e in train] == [(1, 2), (1, 4), (2, 2), (2, 4)]
    for e in train:
        assert {"lr", "memory", "time", "data_time", "loss_cls", "loss_bbox", "loss"} <= set(e)
        assert e["memory"] > 0 and e["lr"] == pytest.approx(0.05)
    assert [e["epoch"] for e in val] == [1, 2] and "bbox_mAP" in val[0]


def test_gradient_accumulation_equals_large_batch():
    batches = toy.linear_batches(4, batch_size=2, seed=3)
    big = [dict(x=torch.cat([batches[i]["x"], batches[i + 1]["x"]]),
                y=torch.cat([batches[i]["y"], batches[i + 1]["y"]])) for i in (0, 2)]
    results = []
    for loader, cumulative in ((batches, 2), (big, 1)):
        torch.manual_seed(0)
        model = toy.LinearToy()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        runner = EpochBasedRunner(model, opt, logger=LOG, max_epochs=2)
        runner.show_progress = False
        register_training_hooks(runner, dict(optimizer_config=dict(cumulative_iters=cumulative),
                                             checkpoint_config=dict(interval=-1, save_last=False),
                                             log_config=dict(interval=100, hooks=[])))
        runner.run([loader], [("train", 1)])
        results.append(model.fc.weight.detach().clone())
    assert torch.allclose(results[0], results[1], atol=1e-6)


class _ScoredSet:
    CLASSES = ("a",)

    def __init__(self, scores):
        self.scores = list(scores)

    def __len__(self):
        return 1

    def evaluate(self, results, metric="bbox", logger=None):
        return {"bbox_mAP": self.scores.pop(0), "bbox_mAP_50": 0.5}


class _Loader(list):
    def __init__(self, dataset):
        super().__init__([None])
        self.dataset = dataset


def test_save_best_keeps_only_the_best(tmp_path):
    model = toy.LinearToy()
    runner = EpochBasedRunner(model, torch.optim.SGD(model.parameters(), lr=0.1), work_dir=str(tmp_path),
                              logger=LOG, max_epochs=3)
    runner.show_progress = False
    register_training_hooks(runner, dict(checkpoint_config=dict(interval=1), log_config=dict(interval=1)))
    hook = EvalHook(_Loader(_ScoredSet([0.1, 0.3, 0.2])), metric="bbox", save_best="auto",
                    test_fn=lambda model, loader: [None])
    runner.register_hook(hook, "LOW")
    runner.run([toy.linear_batches(2)], [("train", 1)])
    best = sorted(p for p in os.listdir(tmp_path) if p.startswith("best_"))
    assert best == ["best_bbox_mAP_epoch_2.pth"]
    assert runner.meta["hook_msgs"]["best_score"] == 0.3
    assert hook.rule == "greater"


def test_eval_rule_inference_and_bad_kwargs():
    loader = _Loader(_ScoredSet([]))
    assert EvalHook(loader, save_best="val_loss").rule == "less"
    assert EvalHook(loader, save_best="segm_mAP").rule == "greater"
    with pytest.raises(ValueError, match="cannot infer the rule"):
        EvalHook(loader, save_best="weird")
    with pytest.raises(ConfigError, match="classwise"):
        EvalHook(loader, classwise=True)


def test_iter_based_runner_checkpoints_and_logs(tmp_path):
    model = toy.LinearToy()
    runner = IterBasedRunner(model, torch.optim.SGD(model.parameters(), lr=0.1), work_dir=str(tmp_path),
                             logger=LOG, max_iters=7)
    runner.show_progress = False
    register_training_hooks(runner, dict(lr_config=dict(policy="step", step=[4]),
                                         checkpoint_config=dict(interval=3, max_keep_ckpts=1),
                                         log_config=dict(interval=2)))
    runner.run([toy.linear_batches(3)], [("train", 1)])
    assert runner.iter == 7
    assert sorted(p for p in os.listdir(tmp_path) if p.endswith(".pth")) == ["iter_7.pth", "latest.pth"]
    assert runner.current_lr() == pytest.approx([0.01])
    lines = [json.loads(x) for x in (tmp_path / f"{runner.timestamp}.log.json").read_text().splitlines()]
    assert [x["iter"] for x in lines if x.get("mode") == "train"] == [2, 4, 6]


def test_bf16_autocast_on_cpu_and_fp16_fallback(tmp_path):
    with pytest.warns(UserWarning, match="bfloat16"):
        settings = amp_settings(dict(loss_scale="dynamic"), "cpu")
    assert settings.dtype == torch.bfloat16 and settings.make_scaler() is None
    runner = _toy_run(tmp_path, fp16=dict(dtype="bfloat16"))
    assert runner.amp.enabled and runner.amp.dtype == torch.bfloat16
    assert all(torch.isfinite(p).all() for p in runner.model.parameters())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_fp16_grad_scaler_on_cuda(tmp_path):
    settings = amp_settings(dict(loss_scale="dynamic"), "cuda")
    assert settings.dtype == torch.float16 and settings.make_scaler() is not None


def test_auto_scale_lr(tmp_path):
    runner = _toy_run(tmp_path, auto_scale_lr=dict(enable=True, base_batch_size=8),
                      runner=dict(type="EpochBasedRunner", max_epochs=1))
    assert runner.optimizer.param_groups[0]["initial_lr"] == pytest.approx(0.05 * 2 / 8)


def test_sync_bn_reverts_to_batch_norm_on_cpu():
    from torch import nn

    from segdet.engine.dist import convert_sync_batchnorm

    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.SyncBatchNorm(4))
    with torch.no_grad():
        model[1].weight.fill_(2.0)
        model[1].running_mean.fill_(0.5)
    with pytest.warns(UserWarning, match="SyncBN is not supported on cpu"):
        out = convert_sync_batchnorm(model, torch.device("cpu"))
    assert type(out[1]) is nn.BatchNorm2d
    assert torch.all(out[1].weight == 2.0) and torch.all(out[1].running_mean == 0.5)
    out.eval()(torch.randn(1, 3, 8, 8))  # runs on the CPU


def test_val_workflow_logs_only_validation_losses(tmp_path):
    cfg = toy.toy_config(str(tmp_path), workflow=[("train", 1), ("val", 1)],
                         optimizer_config=dict(grad_clip=dict(max_norm=5.0)),
                         runner=dict(type="EpochBasedRunner", max_epochs=1))
    model = build(cfg["model"], "detectors")
    datasets = [build(cfg["data"]["train"], "datasets"), build(dict(type="ToyDataset", num=4, seed=3), "datasets")]
    runner = train_model(model, datasets, cfg, device="cpu", logger=LOG)
    lines = [json.loads(x) for x in (tmp_path / f"{runner.timestamp}.log.json").read_text().splitlines()]
    val = [x for x in lines if x.get("mode") == "val"]
    assert len(val) == 1 and val[0]["iter"] == 2
    assert {"loss_cls", "loss_bbox", "loss"} <= set(val[0]) and "grad_norm" not in val[0]
