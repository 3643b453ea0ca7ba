"""Metrics: COCO bbox/segm (``coco_metric``), VOC mAP (``mean_ap``, ``voc_metric``), mIoU.

Import-light on purpose: names load on first use, so importing ``segdet.evaluation``
pulls in neither torch nor pycocotools.
"""
from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "CocoMetric": "segdet.evaluation.coco_metric:CocoMetric",
    "VOCMetric": "segdet.evaluation.voc_metric:VOCMetric",
    "eval_map": "segdet.evaluation.mean_ap:eval_map",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'segdet.evaluation' has no attribute {name!r}")
    module, attr = target.split(":")
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value
