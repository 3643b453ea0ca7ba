"""Metrics: COCO bbox/segm (``coco_metric``), VOC mAP (``mean_ap``, ``voc_metric``), mIoU, and the
one evaluation route (``route``: ``evaluate``, ``build_metrics``) that finds metric classes in the
``segdet.metrics`` entry-point group.

Import-light on purpose: names load on first use, so importing ``segdet.evaluation``
pulls in neither torch nor pycocotools.
"""
from __future__ import annotations

from typing import Any

from .._lazy import lazy_attribute

_LAZY = {
    "CocoMetric": "segdet.evaluation.coco_metric:CocoMetric",
    "VOCMetric": "segdet.evaluation.voc_metric:VOCMetric",
    "IoUMetric": "segdet.evaluation.iou_metric:IoUMetric",
    "eval_map": "segdet.evaluation.mean_ap:eval_map",
    "evaluate": "segdet.evaluation.route:evaluate",
    "evaluate_dataset": "segdet.evaluation.route:evaluate_dataset",
    "build_metrics": "segdet.evaluation.route:build_metrics",
    "run_metrics": "segdet.evaluation.route:run_metrics",
    "uses_metric_route": "segdet.evaluation.route:uses_metric_route",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    return lazy_attribute(__name__, _LAZY, name)
