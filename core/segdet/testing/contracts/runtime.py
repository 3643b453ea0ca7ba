"""Contract checks of run-time parts: hooks, transforms, metrics, data sets."""
from __future__ import annotations

import copy
import difflib
import inspect
from typing import Any

__all__ = ["check_dataset", "check_hook", "check_metric", "check_transform", "default_results"]


def check_hook(hook: Any, inputs: Any, kwargs: dict[str, Any]) -> list[str]:
    from ...engine.hook_manager import HookManager
    from ...engine.hookspec import STAGES

    problems = []
    names = [n for n in dir(type(hook)) if n.startswith(("before_", "after_")) and callable(getattr(hook, n))]
    for n in names:
        if n not in STAGES:
            close = difflib.get_close_matches(n, STAGES, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else f"; hookspec names are: {', '.join(STAGES)}"
            problems.append(f"method {n!r} is not a hookspec name, so the runner never calls it{hint}")
    if not any(n in STAGES for n in names):
        problems.append(f"implements none of the hookspec points ({', '.join(STAGES)})")
    try:
        HookManager().register(copy.copy(hook))  # register() rewrites .priority; keep the caller's hook as built
    except Exception as err:  # pluggy names the method and the arguments it does not know
        problems.append(f"the runner refuses it: {type(err).__name__}: {' '.join(str(err).split())}")
    return problems


def default_results(height: int = 32, width: int = 48, seed: int = 0) -> dict[str, Any]:
    """A results dict as ``LoadImageFromFile`` + ``LoadAnnotations(with_seg=True)`` leave it.

    ``img`` uint8 ``(H, W, 3)`` BGR; two boxes with labels 0 and 1; a semantic map with labels
    0..2; the ``*_fields`` lists and shape keys MMDetection's transforms read.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    seg = rng.integers(0, 3, (height, width)).astype(np.uint8)
    return {
        "filename": "toy.png", "ori_filename": "toy.png", "img": img, "img_shape": img.shape,
        "ori_shape": img.shape, "img_fields": ["img"],
        "gt_bboxes": np.array([[2, 3, 20, 18], [10, 8, width - 2, height - 4]], dtype=np.float32),
        "gt_labels": np.array([0, 1], dtype=np.int64), "bbox_fields": ["gt_bboxes"],
        "gt_semantic_seg": seg, "seg_fields": ["gt_semantic_seg"], "mask_fields": [],
    }


def check_transform(transform: Any, inputs: Any, kwargs: dict[str, Any]) -> list[str]:
    if not callable(transform):
        return ["a transform instance must be callable on a results dict"]
    results = inputs if inputs is not None else default_results()
    out = transform(results)
    if not isinstance(out, dict):
        return [f"maps a results dict to {type(out).__name__}; a transform returns the results dict "
                f"(None only to drop a sample, and this sample should not be dropped)"]
    return []


def _binds(fn: Any, *args: Any) -> bool:
    try:
        inspect.signature(fn).bind(*args)
    except TypeError:
        return False
    return True


def check_metric(metric: Any, inputs: Any, kwargs: dict[str, Any]) -> list[str]:
    evaluate = getattr(metric, "evaluate", None)
    if not callable(evaluate) or not _binds(evaluate, [], None):
        return ["a metric has evaluate(results, dataset) -> dict[str, float]"]
    if inputs is None:
        return []
    results, dataset = inputs
    out = evaluate(results, dataset)
    if not isinstance(out, dict) or not out:
        return [f"evaluate must return a non-empty dict of metric name -> value, got {out!r}"]
    problems = []
    for k, v in out.items():
        number = isinstance(v, (int, float)) and not isinstance(v, bool)
        if not isinstance(k, str) or not (number or (isinstance(v, str) and k.endswith("_copypaste"))):
            problems.append(f"evaluate returned {k!r}: {v!r}; keys are names, values numbers")
    return problems


def check_dataset(dataset: Any, inputs: Any, kwargs: dict[str, Any]) -> list[str]:
    problems = []
    classes = getattr(dataset, "CLASSES", None)
    if not isinstance(classes, tuple) or not classes or not all(isinstance(c, str) for c in classes):
        problems.append(f"CLASSES must be a non-empty tuple of class names, got {classes!r}")
    if not callable(getattr(dataset, "evaluate", None)):
        problems.append("a dataset has evaluate(results, metric=..., logger=None)")
    try:
        n = len(dataset)
    except TypeError:
        return [*problems, "a dataset has a length"]
    if n and not isinstance(dataset[0], dict):
        problems.append(f"dataset[0] must be a sample dict, got {type(dataset[0]).__name__}")
    return problems
