"""The one evaluation route: metric names resolve through the ``segdet.metrics`` group; data sets
only declare their ``evaluator``; ``EvalHook``, ``dataset.evaluate`` and training all use it."""
from __future__ import annotations

import importlib
import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from segdet.data.datasets.coco import CocoDataset
from segdet.engine import EvalHook
from segdet.errors import ConfigError, SegdetError
from segdet.evaluation.coco_metric import CocoMetric
from segdet.evaluation.route import build_metrics, evaluate, evaluate_dataset, run_metrics
from segdet.registry import register, unregister

ENGINE_TESTS = Path(__file__).resolve().parents[1] / "engine"


class ScoreSum:
    """A throwaway metric: ``scale`` times the sum of all detection scores."""

    greater_keys = ("score_sum",)  # read by EvalHook(save_best='score_sum')

    def __init__(self, scale: float = 1.0) -> None:
        self.scale = scale

    def evaluate(self, results: Any, dataset: Any) -> dict[str, float]:
        return {"score_sum": self.scale * float(sum(float(r["scores"].sum()) for r in results))}


@pytest.fixture()
def score_sum() -> Any:
    register("metrics", "ScoreSum", force=True)(ScoreSum)
    yield ScoreSum
    unregister("metrics", "ScoreSum")


@pytest.fixture()
def coco(tmp_path: Path) -> tuple[CocoDataset, list[dict[str, Any]]]:
    images = [dict(id=i + 1, file_name=f"{i}.png", width=32, height=32) for i in range(2)]
    anns = [dict(id=1, image_id=1, category_id=5, bbox=[2, 2, 10, 10], area=100, iscrowd=0,
                 segmentation=[[2, 2, 12, 2, 12, 12, 2, 12]]),
            dict(id=2, image_id=2, category_id=9, bbox=[4, 6, 20, 8], area=160, iscrowd=0,
                 segmentation=[[4, 6, 24, 6, 24, 14, 4, 14]])]
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(dict(images=images, annotations=anns,
                                    categories=[dict(id=5, name="a"), dict(id=9, name="b")])))
    ds = CocoDataset(ann_file=str(path), pipeline=[], classes=("a", "b"), test_mode=True)
    masks = [np.zeros((1, 32, 32), bool) for _ in range(2)]
    masks[0][0, 2:12, 2:12] = True
    masks[1][0, 6:14, 4:24] = True
    results = [dict(bboxes=torch.tensor([[2.0, 2, 12, 12]]), scores=torch.tensor([0.9]), labels=torch.tensor([0]),
                    masks=torch.from_numpy(masks[0])),
               dict(bboxes=torch.tensor([[4.0, 6, 24, 14]]), scores=torch.tensor([0.6]), labels=torch.tensor([1]),
                    masks=torch.from_numpy(masks[1]))]
    return ds, results


def test_short_names_go_to_the_declared_evaluator(coco: Any) -> None:
    ds, results = coco
    (only,) = build_metrics(ds)
    assert isinstance(only, CocoMetric) and only.metrics == ["bbox"]
    (both,) = build_metrics(ds, ["bbox", "segm"], classwise=True, iou_thrs=[0.5])
    assert both.metrics == ["bbox", "segm"] and both.classwise and list(both.iou_thrs) == [0.5]
    out = evaluate(ds, results, ["bbox", "segm"], logger="silent")
    assert out["bbox_mAP"] == out["segm_mAP"] == 1.0


def test_registered_metric_by_name_dict_and_mixed(coco: Any, score_sum: Any) -> None:
    ds, results = coco
    coco_metric, mine = build_metrics(ds, ["segm", "ScoreSum"], scale=2.0, classwise=True)
    assert isinstance(coco_metric, CocoMetric) and coco_metric.classwise and coco_metric.metrics == ["segm"]
    assert isinstance(mine, ScoreSum) and mine.scale == 2.0  # each option reaches the metric taking it
    (fixed,) = build_metrics(ds, dict(type="ScoreSum", scale=3.0), scale=5.0)
    assert fixed.scale == 3.0  # the metric's own config wins over shared options
    assert ds.evaluate(results, metric="ScoreSum") == {"score_sum": pytest.approx(1.5)}
    out = ds.evaluate(results, metric=["bbox", "ScoreSum"], scale=10.0, logger="silent")
    assert out["bbox_mAP"] == 1.0 and out["score_sum"] == pytest.approx(15.0)


def test_errors_name_options_and_metrics(coco: Any, score_sum: Any) -> None:
    ds, _ = coco
    with pytest.raises(ConfigError, match=r"unknown options \['scael'\].*ScoreSum\(scale"):
        build_metrics(ds, ["bbox", "ScoreSum"], scael=2.0)
    with pytest.raises(ConfigError, match=r"bbx.*'ScoreSum'"):
        build_metrics(ds, "bbx")  # CocoMetric refuses it; the message lists the metric classes
    with pytest.raises(SegdetError, match="segdet.metrics"):
        build_metrics(ds, dict(type="NoSuchMetric"))

    class Bare:
        CLASSES = ("a",)

    with pytest.raises(ConfigError, match="declares no evaluator"):
        build_metrics(Bare(), "bbox")
    (mine,) = build_metrics(Bare(), "ScoreSum")  # a data set without evaluator takes metric classes
    assert isinstance(mine, ScoreSum)


def test_legacy_evaluate_is_honoured_unless_metric_classes_are_named(score_sum: Any) -> None:
    calls: list[dict[str, Any]] = []

    class Legacy:
        CLASSES = ("a",)

        def evaluate(self, results: Any, metric: Any = "bbox", logger: Any = None,
                     iou: float = 0.0) -> dict[str, float]:
            calls.append(dict(metric=metric, iou=iou))
            return {"legacy": 1.0}

    results = [dict(scores=torch.tensor([0.25, 0.5]))]
    # config options it does not take (the hook's interval) are left out, as for metrics
    got = evaluate_dataset(Legacy(), results, "bbox", config_options=dict(iou=0.5, interval=1))
    assert got == {"legacy": 1.0} and calls == [dict(metric="bbox", iou=0.5)]
    assert evaluate_dataset(Legacy(), results, "ScoreSum") == {"score_sum": 0.75}
    assert len(calls) == 1


class _Loader(list):
    def __init__(self, dataset: Any) -> None:
        super().__init__()
        self.dataset = dataset


def test_eval_hook_builds_metrics_before_training(coco: Any, score_sum: Any) -> None:
    ds, results = coco
    hook = EvalHook(_Loader(ds), metric=["segm", "ScoreSum"], eval_kwargs=dict(scale=4.0))
    assert [type(m).__name__ for m in hook._metrics] == ["CocoMetric", "ScoreSum"]
    out = run_metrics(hook._metrics, results, ds, logging.getLogger("quiet"))
    assert out["score_sum"] == pytest.approx(6.0) and out["segm_mAP"] == 1.0
    with pytest.raises(ConfigError, match="unknown options"):
        EvalHook(_Loader(ds), metric="bbox", eval_kwargs=dict(scale=4.0))  # only ScoreSum takes scale


def test_training_evaluates_and_keeps_the_best_by_a_registered_metric(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, score_sum: Any) -> None:
    """``evaluation=dict(metric='ScoreSum')`` in a config: no core edit, the hook, the log and
    the best checkpoint all use the new metric."""
    from segdet.engine.env import set_random_seed
    from segdet.engine.train import train_model
    from segdet.registry import build

    monkeypatch.syspath_prepend(str(ENGINE_TESTS))
    toy = importlib.import_module("segdet.testing.toy_detection")
    cfg = toy.toy_config(str(tmp_path), evaluation=dict(interval=1, metric="ScoreSum", scale=2.0,
                                                        save_best="score_sum"))
    set_random_seed(0)
    model = build(cfg["model"], "detectors")
    dataset = build(cfg["data"]["train"], "datasets")
    runner = train_model(model, [dataset], cfg, validate=True, device="cpu", logger=logging.getLogger("quiet"))
    assert runner.epoch == 2
    best = [p for p in os.listdir(tmp_path) if p.startswith("best_score_sum_epoch_")]
    assert len(best) == 1
    (log,) = [p for p in os.listdir(tmp_path) if p.endswith(".log.json")]
    lines = [json.loads(x) for x in (tmp_path / log).read_text().splitlines()]
    scores = [x["score_sum"] for x in lines if "score_sum" in x]
    # four validation images, one detection each with a softmax score in (1/3, 1], times 2
    assert len(scores) == 2 and all(8 / 3 < s <= 8.0 for s in scores)


def test_metric_of_an_installed_distribution_needs_no_core_edit(
        coco: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real ``*.dist-info`` declaring ``segdet.metrics`` entry point: found by name in the
    hook's config and in ``dataset.evaluate`` alike."""
    from tests.registry.fake_dists import activate, deactivate, write_dist

    ds, results = coco
    site = tmp_path / "site"
    write_dist(site, "segdet-metric-maxscore", "0.2.0",
               {"segdet.metrics": {"MaxScore": "segdet_metric_maxscore:MaxScore"}},
               modules={"segdet_metric_maxscore": (
                   "class MaxScore:\n"
                   "    less_keys = ()\n"
                   "    greater_keys = ('max_score',)\n"
                   "    def __init__(self, floor: float = 0.0) -> None:\n"
                   "        self.floor = floor\n"
                   "    def evaluate(self, results, dataset):\n"
                   "        return {'max_score': max([self.floor] + [float(r['scores'].max()) for r in results])}\n")})
    activate(site, monkeypatch)
    try:
        hook = EvalHook(_Loader(ds), metric=["bbox", "MaxScore"], save_best="max_score", eval_kwargs=dict(floor=0.1))
        assert hook.rule == "greater"  # declared by the metric class
        out = run_metrics(hook._metrics, results, ds, logging.getLogger("quiet"))
        assert out["max_score"] == pytest.approx(0.9) and out["bbox_mAP"] == 1.0
        assert ds.evaluate(results, metric=dict(type="MaxScore", floor=2.0)) == {"max_score": 2.0}
    finally:
        deactivate(site)


def test_mmcv_and_mmseg_loop_keys_in_evaluation_are_accepted(coco: Any) -> None:
    from segdet.engine.train import _build_eval_hook

    ds, _ = coco
    hook = _build_eval_hook(_Loader(ds), dict(interval=2, metric="segm", pre_eval=True, efficient_test=False,
                                              gpu_collect=True, tmpdir=None, classwise=True, save_best="auto"))
    assert hook.interval == 2 and hook.save_best == "auto"
    (metric,) = hook._metrics
    assert metric.metrics == ["segm"] and metric.classwise


def test_check_config_reports_evaluation_problems(score_sum: Any) -> None:
    from segdet.config import Config
    from segdet.engine.hooks.evaluation import evaluation_problems
    from segdet_cli.commands.config import check_config_problems

    def cfg(**evaluation: Any) -> Config:
        return Config(dict(data=dict(val=dict(type="CocoDataset", ann_file="x.json", pipeline=[])),
                           evaluation=dict(interval=1, save_best="auto", **evaluation)))

    assert evaluation_problems(cfg(metric=["bbox", "segm", "ScoreSum"], classwise=True, scale=2.0)) == []
    (bad_name,) = evaluation_problems(cfg(metric="bbx"))
    assert "CocoDataset" in bad_name and "'bbx'" in bad_name and "ScoreSum" in bad_name
    (bad_option,) = evaluation_problems(cfg(metric="bbox", scael=2.0))
    assert "unknown options ['scael']" in bad_option
    # a data set whose evaluator is known only per instance (XMLDataset's property): names of
    # metric classes are still checked, short names wait for the run
    xml = Config(dict(data=dict(val=dict(type="XMLDataset")), evaluation=dict(metric="mAP", iou_thr=0.5)))
    assert evaluation_problems(xml) == []
    xml.evaluation = dict(metric="ScoreSum", iou_thr=0.5)
    assert "unknown options ['iou_thr']" in evaluation_problems(xml)[0]
    full = cfg(metric="segm", bogus=1)
    full.model = dict(type="NoSuchDetector")
    problems = check_config_problems(full)
    assert any("NoSuchDetector" in p for p in problems) and any("['bogus']" in p for p in problems)
