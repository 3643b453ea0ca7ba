"""Evaluate on the validation set during training and keep the best checkpoint (MMDetection's EvalHook)."""
from __future__ import annotations

import bisect
import inspect
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any, Callable

from ...errors import ConfigError
from ..runner_state import RunnerState
from .base import Hook
from .logger_base import LoggerHook

__all__ = ["EvalHook", "split_evaluation_cfg", "evaluation_problems"]

_GREATER_KEYS = ("acc", "top", "AR@", "auc", "precision", "mAP", "mDice", "mIoU", "mAcc", "aAcc")
_LESS_KEYS = ("loss",)
_RULES: dict[str, Callable[[float, float], bool]] = {"greater": lambda x, y: x > y, "less": lambda x, y: x < y}
_INIT = {"greater": -math.inf, "less": math.inf}


class EvalHook(Hook):
    """``evaluation=dict(interval=1, metric='bbox', classwise=False, save_best='auto', rule=None)``.

    Every ``interval`` epochs (or iterations with ``by_epoch=False``) run the test
    function over ``dataloader`` and evaluate the results through the one evaluation route
    (:mod:`segdet.evaluation.route`): ``metric`` names metric classes of the ``segdet.metrics``
    group or short names read by the data set's ``evaluator`` (``'bbox'``, ``'mIoU'``), and the
    other keys go to the metrics that take them. The metrics are built when the hook is, so a
    wrong name or option fails before training; their ``greater_keys`` / ``less_keys`` class
    attributes, if any, tell ``save_best`` which way is better. A data set with an ``evaluate`` of its own
    (MMDetection-style) is called through it instead. Metrics go into the log. With ``save_best`` (a metric name or
    ``'auto'`` for the first one returned) the best checkpoint is kept as
    ``best_<metric>_epoch_N.pth`` and the previous best is removed.
    """

    priority = "LOW"

    def __init__(self, dataloader: Any, start: int | None = None, interval: int = 1, by_epoch: bool = True,
                 save_best: str | None = None, rule: str | None = None,
                 metric: Any | None = None, classwise: bool | None = None,
                 eval_kwargs: dict | None = None, test_fn: Callable[..., list] | None = None,
                 greater_keys: Sequence[str] | None = None, less_keys: Sequence[str] | None = None,
                 out_dir: str | None = None,
                 dynamic_intervals: Sequence[tuple[int, int]] | None = None) -> None:
        if interval <= 0:
            raise ValueError(f"evaluation.interval must be a positive number, got {interval}")
        if start is not None and start < 0:
            raise ValueError(f"evaluation.start must be >= 0, got {start}")
        if save_best is not None and not isinstance(save_best, str):
            raise TypeError(f"evaluation.save_best must be a str or None, got {save_best!r}")
        self.dataloader, self.start, self.interval, self.by_epoch = dataloader, start, interval, by_epoch
        # MMDetection 2.x's dynamic_intervals=[(milestone, interval), ...]: from each milestone
        # (epochs or iterations, 1-based like the progress it is compared with) the interval changes
        pairs = [tuple(p) for p in (dynamic_intervals or [])]
        if any(len(p) != 2 or int(p[1]) <= 0 for p in pairs) or [p[0] for p in pairs] != sorted(p[0] for p in pairs):
            raise ValueError(f"evaluation.dynamic_intervals must be ascending (milestone, interval > 0) "
                             f"pairs, got {dynamic_intervals!r}")
        self._milestones = [0] + [int(p[0]) for p in pairs]
        self._intervals = [interval] + [int(p[1]) for p in pairs]
        self.eval_kwargs = dict(eval_kwargs or {})
        if metric is not None:
            self.eval_kwargs["metric"] = metric
        if classwise is not None:
            self.eval_kwargs["classwise"] = classwise
        self._check_eval_kwargs()
        self.test_fn = test_fn
        # a metric may declare which of its keys are better high or low (``greater_keys`` /
        # ``less_keys`` class attributes), so save_best needs no rule for them
        declared = self._metrics or []
        self.greater_keys = (tuple(greater_keys or ()) + _GREATER_KEYS
                             + tuple(k for m in declared for k in getattr(m, "greater_keys", ())))
        self.less_keys = (tuple(less_keys or ()) + _LESS_KEYS
                          + tuple(k for m in declared for k in getattr(m, "less_keys", ())))
        self.save_best, self.out_dir = save_best, out_dir
        self.initial_flag = True
        self.best_ckpt_path: str | None = None
        self.rule: str | None = None
        self.key_indicator: str | None = None
        if save_best is not None:
            self._init_rule(rule, save_best)

    def _check_eval_kwargs(self) -> None:
        """Resolve the metrics now, so that a wrong name or option fails before training starts."""
        from ...evaluation.route import build_metrics, is_legacy, only_registered

        dataset: Any = getattr(self.dataloader, "dataset", None)
        if dataset is None:
            raise ConfigError("evaluation: the validation loader has no data set")
        options = dict(self.eval_kwargs)
        metric = options.pop("metric", None)
        self._metrics: list[Any] | None = None
        if not is_legacy(dataset) or only_registered(metric):
            self._metrics = build_metrics(dataset, metric, **options)
            return
        evaluate = dataset.evaluate  # a data set's own evaluate (MMDetection-style override)
        try:
            params = inspect.signature(evaluate).parameters
        except (TypeError, ValueError):
            return
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
            return
        unknown = [k for k in self.eval_kwargs if k not in params]
        if unknown:
            raise ConfigError(f"evaluation: {type(dataset).__name__}.evaluate"
                              f"{inspect.signature(evaluate)} does not accept {unknown}")

    def _init_rule(self, rule: str | None, key: str) -> None:
        if rule is not None and rule not in _RULES:
            raise ValueError(f"evaluation.rule must be 'greater', 'less' or None, got {rule!r}")
        if rule is None and key != "auto":
            low = key.lower()
            greater = [k.lower() for k in self.greater_keys]
            less = [k.lower() for k in self.less_keys]
            if low in greater:
                rule = "greater"
            elif low in less:
                rule = "less"
            elif any(k in low for k in greater):
                rule = "greater"
            elif any(k in low for k in less):
                rule = "less"
            else:
                raise ValueError(f"cannot infer the rule for key {key!r}; set evaluation.rule='greater' or 'less'")
        self.rule, self.key_indicator = rule, key

    def before_run(self, runner: RunnerState) -> None:
        if not self.out_dir:
            self.out_dir = runner.work_dir
        if self.save_best is not None:
            self.best_ckpt_path = runner.meta["hook_msgs"].get("best_ckpt")

    def before_train_iter(self, runner: RunnerState) -> None:
        if self.by_epoch or not self.initial_flag:
            return
        if self.start is not None and runner.iter >= self.start:
            self.after_train_iter(runner)
        self.initial_flag = False

    def before_train_epoch(self, runner: RunnerState) -> None:
        if not (self.by_epoch and self.initial_flag):
            return
        if self.start is not None and runner.epoch >= self.start:
            self.after_train_epoch(runner)
        self.initial_flag = False

    def after_train_iter(self, runner: RunnerState) -> None:
        if not self.by_epoch and self._should_evaluate(runner):
            for hook in runner.hooks:  # log the training values before the buffer is cleared
                if isinstance(hook, LoggerHook):
                    hook.after_train_iter(runner)
            runner.log_buffer.clear()
            self._do_evaluate(runner)

    def after_train_epoch(self, runner: RunnerState) -> None:
        if self.by_epoch and self._should_evaluate(runner):
            self._do_evaluate(runner)

    def _should_evaluate(self, runner: RunnerState) -> bool:
        current = runner.epoch if self.by_epoch else runner.iter
        self.interval = self._intervals[bisect.bisect(self._milestones, current + 1) - 1]
        if self.start is None:
            return (current + 1) % self.interval == 0
        if current + 1 < self.start:
            return False
        return (current + 1 - self.start) % self.interval == 0

    def _test(self, runner: RunnerState) -> list[Any]:
        if self.test_fn is not None:
            return self.test_fn(runner.model, self.dataloader)
        from ..test import multi_gpu_test, single_gpu_test

        if runner.world_size > 1:
            return multi_gpu_test(runner.model, self.dataloader)
        return single_gpu_test(runner.model, self.dataloader)

    def _do_evaluate(self, runner: RunnerState) -> None:
        results = self._test(runner)
        if runner.rank != 0:
            return
        runner.log_buffer.output["eval_iter_num"] = len(self.dataloader)
        key_score = self.evaluate(runner, results)
        if self.save_best and key_score is not None:
            self._save_ckpt(runner, key_score)

    def evaluate(self, runner: RunnerState, results: list[Any]) -> float | None:
        from ...evaluation.route import run_metrics

        dataset = self.dataloader.dataset
        if self._metrics is not None:
            eval_res = run_metrics(self._metrics, results, dataset, runner.logger)
        else:
            eval_res = dataset.evaluate(results, logger=runner.logger, **self.eval_kwargs)
        for name, val in eval_res.items():
            runner.log_buffer.output[name] = val
        runner.log_buffer.ready = True
        if self.save_best is None:
            return None
        if not eval_res:
            runner.logger.warning("evaluation returned no metric; best checkpoint not saved")
            return None
        if self.key_indicator == "auto":
            self._init_rule(self.rule, next(iter(eval_res)))
        if self.key_indicator not in eval_res:
            raise ConfigError(f"evaluation.save_best={self.key_indicator!r} is not among the metrics "
                              f"returned: {sorted(eval_res)}")
        return float(eval_res[self.key_indicator])

    def _save_ckpt(self, runner: RunnerState, key_score: float) -> None:
        assert self.rule is not None and self.out_dir is not None
        unit, count = ("epoch", runner.epoch + 1) if self.by_epoch else ("iter", runner.iter + 1)
        best_score = runner.meta["hook_msgs"].get("best_score", _INIT[self.rule])
        if not _RULES[self.rule](key_score, best_score):
            return
        runner.meta["hook_msgs"]["best_score"] = key_score
        if self.best_ckpt_path and os.path.isfile(self.best_ckpt_path):
            os.remove(self.best_ckpt_path)
        name = f"best_{self.key_indicator}_{unit}_{count}.pth"
        self.best_ckpt_path = os.path.join(self.out_dir, name)
        runner.meta["hook_msgs"]["best_ckpt"] = self.best_ckpt_path
        runner.save_checkpoint(self.out_dir, filename_tmpl=name.replace("{", "{{").replace("}", "}}"),
                               create_symlink=False)
        runner.logger.info(f"Now best checkpoint is saved as {name}. "
                           f"Best {self.key_indicator} is {key_score:0.4f} at {count} {unit}.")


#: MMCV's result-collection keys and MMSegmentation's test-loop modes: accepted, unused (results
#: are gathered whole, masks as RLE)
_LOOP_KEYS = ("type", "gpu_collect", "tmpdir", "pre_eval", "efficient_test")


def split_evaluation_cfg(eval_cfg: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``evaluation=dict(...)`` -> ``(EvalHook arguments, metric options)``, by EvalHook's signature."""
    options = {k: v for k, v in eval_cfg.items() if k not in _LOOP_KEYS}
    hook_args = set(inspect.signature(EvalHook).parameters) - {"dataloader", "eval_kwargs", "test_fn"}
    hook = {k: options.pop(k) for k in list(options) if k in hook_args}
    return hook, options


def evaluation_problems(cfg: Mapping[str, Any]) -> list[str]:
    """Problems of ``cfg.evaluation`` found without data: unknown metric names or options, checked
    against the validation data set's declared ``evaluator`` (``segdet check-config``)."""
    from ...errors import SegdetError
    from ...evaluation.route import build_metrics, only_registered
    from ...registry import resolve

    evaluation, data = cfg.get("evaluation"), cfg.get("data")
    if not isinstance(evaluation, Mapping) or not isinstance(data, Mapping):
        return []
    hook, options = split_evaluation_cfg(evaluation)
    metric = hook.get("metric")
    if hook.get("classwise") is not None:
        options["classwise"] = hook["classwise"]
    val = data.get("val")
    kind = val.get("type") if isinstance(val, Mapping) else None
    try:
        cls = resolve(kind, "datasets") if isinstance(kind, str) else kind
    except SegdetError:
        return []  # reported by the type check already
    evaluator = getattr(cls, "evaluator", None)
    if not isinstance(evaluator, (str, Mapping)):  # none, or per instance (a property): known at run time
        if not only_registered(metric):
            return []
        evaluator = None
    try:
        stand_in = type(getattr(cls, "__name__", "Dataset"), (), {"evaluator": evaluator})()
        build_metrics(stand_in, metric, **options)
    except SegdetError as err:
        return [f"evaluation (with data.val type {kind!r}): {err}"]
    return []
