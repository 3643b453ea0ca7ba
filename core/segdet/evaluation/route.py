"""The one route from ``evaluation=dict(metric=...)`` / ``segdet test --eval`` to metric classes.

Metric classes are components of the ``segdet.metrics`` entry-point group, like any backbone:
a distribution that declares ``[project.entry-points."segdet.metrics"] MyMetric = "pkg:MyMetric"``
is usable as ``evaluation=dict(metric='MyMetric')`` or ``--eval MyMetric`` with no core edit.

A metric class takes keyword arguments and has ``evaluate(results, dataset[, logger]) ->
dict[str, float]``. Data sets hold data and annotations only; they name, as the fact
``evaluator`` (a config ``dict(type=<metric>, ...)``), the metric that reads the short names
their users write (``'bbox'``, ``'segm'``, ``'mAP'``, ``'mIoU'`` ...).

How ``metric`` resolves (:func:`build_metrics`):

- ``None``: the data set's ``evaluator`` with its own defaults;
- a name of the ``segdet.metrics`` group (``'CocoMetric'``, ``'MyMetric'``): that class;
- a ``dict(type=..., **args)``: that class with those arguments;
- any other string (``'bbox'``): collected, and handed to the data set's ``evaluator`` as its
  ``metric`` (or ``metrics``) argument;
- a list mixes these: ``metric=['bbox', 'segm', 'MyMetric']``.

Every other option (``classwise=True``, ``iou_thr=0.75``, ``jsonfile_prefix=...``) goes to each
resolved metric whose constructor takes it; an option no metric takes is an error naming the
metrics and their signatures, raised before any test image is run.
"""
from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from ..errors import ConfigError

__all__ = ["as_logger", "build_metrics", "evaluate", "evaluate_dataset", "evaluator_of", "is_legacy",
           "only_registered", "run_metrics", "uses_metric_route"]

_F = TypeVar("_F", bound=Callable[..., Any])
_ROUTE_FLAG = "__segdet_metric_route__"
_NAME_ARGS = ("metric", "metrics")


def uses_metric_route(fn: _F) -> _F:
    """Mark a data set's ``evaluate`` as a thin wrapper over :func:`evaluate` (so the engine and
    the CLI call the route directly; an ``evaluate`` without the mark is a legacy override and
    is called as it is)."""
    setattr(fn, _ROUTE_FLAG, True)
    return fn


def evaluator_of(dataset: Any) -> dict[str, Any] | None:
    """The data set's declared ``evaluator`` config (a copy), or None."""
    declared = getattr(dataset, "evaluator", None)
    if declared is None:
        return None
    if isinstance(declared, str):
        return {"type": declared}
    if not isinstance(declared, Mapping) or "type" not in declared:
        raise ConfigError(f"{type(dataset).__name__}.evaluator must be a metric name or a dict(type=...), "
                          f"got {declared!r}")
    return dict(declared)


def _metric_names() -> set[str]:
    from ..registry import components

    return {info.name for info in components("metrics")}


def _resolve(kind: Any, where: str) -> Any:
    if not isinstance(kind, str):
        return kind
    from ..registry import resolve

    return resolve(kind, "metrics", where)


def _params(cls: Any) -> tuple[set[str], bool]:
    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return set(), True
    named = {n for n, p in params.items()
             if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)}
    return named, any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def _configs(dataset: Any, metric: Any) -> list[dict[str, Any]]:
    """Metric configs (``dict(type=...)``) named by ``metric``, in order."""
    items = [metric] if isinstance(metric, (str, Mapping)) else list(metric or [])
    registered = _metric_names() if any(isinstance(i, str) for i in items) else set()
    configs: list[dict[str, Any]] = []
    short: list[str] = []
    for item in items:
        if isinstance(item, Mapping):
            if "type" not in item:
                raise ConfigError(f"evaluation.metric: a metric dict needs a 'type', got {dict(item)!r}")
            configs.append(dict(item))
        elif isinstance(item, str) and (item in registered or ":" in item):
            configs.append({"type": item})
        elif isinstance(item, str):
            short.append(item)
        else:
            raise ConfigError(f"evaluation.metric: expected names or dict(type=...), got {item!r}")
    declared = evaluator_of(dataset)
    if short or not items:
        if declared is None:
            raise ConfigError(
                f"evaluation.metric {short or metric!r}: {type(dataset).__name__} declares no evaluator, so "
                f"only metric classes of the 'segdet.metrics' group can be named; installed: "
                f"{sorted(_metric_names())}")
        if short:
            cls = _resolve(declared["type"], f"{type(dataset).__name__}.evaluator")
            named, _ = _params(cls)
            arg = next((a for a in _NAME_ARGS if a in named), None)
            if arg is None:
                raise ConfigError(f"evaluation.metric {short!r}: {declared['type']} (the evaluator of "
                                  f"{type(dataset).__name__}) takes no 'metric' argument")
            declared[arg] = short[0] if len(short) == 1 else short
        configs.insert(0, declared)
    return configs


def build_metrics(dataset: Any, metric: Any = None, config_options: Mapping[str, Any] | None = None,
                  **options: Any) -> list[Any]:
    """Metric objects for ``metric`` on ``dataset`` (see the module docstring for the rules).

    ``options`` must each be taken by some metric. ``config_options`` (the ``evaluation`` section
    of a config, when ``segdet test --eval`` names other metrics than it was written for) go to the
    metrics that take them and are otherwise left out; ``options`` win over them.

    Raises:
        ConfigError: an unknown option, a short name on a data set without ``evaluator``.
        UnknownComponentError: a ``type`` not in the ``segdet.metrics`` group.
    """
    from ..registry import check_arguments

    built: list[tuple[Any, dict[str, Any]]] = []
    used: set[str] = set()
    for cfg in _configs(dataset, metric):
        kind = cfg.pop("type")
        cls = _resolve(kind, "evaluation.metric")
        named, any_kw = _params(cls)
        for key, value in {**(config_options or {}), **options}.items():
            if any_kw or key in named:
                cfg.setdefault(key, value)  # a metric's own dict(type=..., key=...) wins
                used.add(key)
        problems = check_arguments(cls, cfg, "evaluation")
        if problems:
            raise ConfigError("; ".join(problems))
        built.append((cls, cfg))
    unused = [k for k in options if k not in used]
    if unused:
        from ..registry import signature_text

        sigs = "; ".join(signature_text(cls) for cls, _ in built)
        raise ConfigError(f"evaluation: unknown options {unused}: no metric takes them; the metrics are {sigs}")
    out = []
    for cls, cfg in built:
        try:
            out.append(cls(**cfg))
        except (KeyError, ValueError) as err:  # e.g. a misspelt short name: say what else exists
            names = sorted(_metric_names())
            raise ConfigError(f"evaluation: {getattr(cls, '__name__', cls)}({cfg}) failed: {err}. "
                              f"Metric classes of the 'segdet.metrics' group can be named too: {names}") from err
    return out


def as_logger(logger: Any) -> logging.Logger | None:
    """MMCV's ``logger`` argument as a Logger: a Logger as is, ``'silent'`` -> one that drops
    everything, anything else (None, ``'print'``) -> None, which metrics take as "print"."""
    if isinstance(logger, logging.Logger):
        return logger
    if logger == "silent":
        silent = logging.getLogger("segdet.silent")
        silent.propagate = False
        silent.disabled = True
        return silent
    return None


def run_metrics(metrics: Sequence[Any], results: Sequence[Any], dataset: Any,
                logger: logging.Logger | None = None) -> dict[str, Any]:
    """Merged ``metric.evaluate(results, dataset[, logger])`` of every metric, in order."""
    out: dict[str, Any] = {}
    for metric in metrics:
        fn = metric.evaluate
        named, any_kw = _params(fn)
        values = fn(results, dataset, logger=logger) if any_kw or "logger" in named else fn(results, dataset)
        if not isinstance(values, Mapping):
            raise TypeError(f"{type(metric).__name__}.evaluate returned {type(values).__name__}; "
                            "a metric returns a dict of name -> value")
        out.update(values)
    return out


def is_legacy(dataset: Any) -> bool:
    """Whether ``dataset`` has an ``evaluate`` of its own (not a thin wrapper over the route)."""
    own = getattr(dataset, "evaluate", None)  # a bound method reads its function's flag
    return own is not None and not getattr(own, _ROUTE_FLAG, False)


def evaluate(dataset: Any, results: Sequence[Any], metric: Any = None, logger: Any = None,
             **options: Any) -> dict[str, Any]:
    """Evaluate ``results`` (one per image, in data set order) on ``dataset`` with the metrics
    :func:`build_metrics` resolves; what every data set's ``evaluate`` wraps."""
    return run_metrics(build_metrics(dataset, metric, **options), results, dataset, as_logger(logger))


def evaluate_dataset(dataset: Any, results: Sequence[Any], metric: Any = None, logger: Any = None,
                     config_options: Mapping[str, Any] | None = None, **options: Any) -> dict[str, Any]:
    """What ``EvalHook`` and ``segdet test`` call: :func:`evaluate`, except that a data set with an
    ``evaluate`` of its own (an MMDetection-style override, or a wrapper such as
    ``ConcatDataset``) is asked through it, unless ``metric`` names only registered metric classes."""
    if is_legacy(dataset) and not only_registered(metric):
        named, any_kw = _params(dataset.evaluate)
        kwargs = {k: v for k, v in (config_options or {}).items() if any_kw or k in named}
        kwargs.update(options)
        if metric is not None:
            kwargs["metric"] = metric
        return dict(dataset.evaluate(results, logger=logger, **kwargs))
    metrics = build_metrics(dataset, metric, config_options, **options)
    return run_metrics(metrics, results, dataset, as_logger(logger))


def only_registered(metric: Any) -> bool:
    """Whether ``metric`` is non-empty and names only metric classes (names or dicts)."""
    items = [metric] if isinstance(metric, (str, Mapping)) else list(metric or [])
    if not items:
        return False
    registered = _metric_names()
    return all(isinstance(i, Mapping) or i in registered for i in items)
