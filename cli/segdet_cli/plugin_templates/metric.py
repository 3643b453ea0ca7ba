"""``segdet new-plugin metric NAME``: a detection metric computed from results and a data set."""
from __future__ import annotations

GROUP = "metrics"
DEPENDENCIES = ("torch>=2.3",)
SUMMARY = "a segdet metric: box recall at an IoU threshold"

USAGE = '''\
A metric class of group `segdet.metrics` has `evaluate(results, dataset) -> dict[str, float]`;
a data set's `evaluate(results, metric=...)` resolves it by name:

```python
evaluation = dict(interval=1, metric='${cls}')
```
'''

COMPONENT = '''\
"""${cls}: the fraction of ground-truth boxes found by a detection above a score."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from segdet.api import bbox_overlaps

__all__ = ["${cls}"]


class ${cls}:
    """Box recall: a ground-truth box counts as found when a detection of its class with
    ``score >= score_thr`` overlaps it with IoU ``>= iou_thr``.

    Args:
        iou_thr: IoU a detection needs. Default 0.5.
        score_thr: detections below it are ignored. Default 0.05.

    ``evaluate(results, dataset)``: ``results[i]`` is ``dict(bboxes (N, 4), scores (N,), labels (N,))``
    of image ``i``; ``dataset.get_ann_info(i)`` gives ``dict(bboxes (K, 4), labels (K,))`` (arrays
    or tensors). Returns ``{'recall': r}`` with ``r`` in [0, 1] (0 when there is no box).
    """

    def __init__(self, iou_thr: float = 0.5, score_thr: float = 0.05) -> None:
        self.iou_thr = float(iou_thr)
        self.score_thr = float(score_thr)

    def evaluate(self, results: Sequence[Any], dataset: Any) -> dict[str, float]:
        """Recall of ``results`` against ``dataset``'s annotations, one result per image."""
        if len(results) != len(dataset):
            raise ValueError(f"${cls}: {len(results)} results for a data set of {len(dataset)} images")
        found = total = 0
        for i, result in enumerate(results):
            ann = dataset.get_ann_info(i)
            gt = torch.as_tensor(ann["bboxes"], dtype=torch.float32).reshape(-1, 4)
            gt_labels = torch.as_tensor(ann["labels"]).reshape(-1)
            keep = torch.as_tensor(result["scores"]) >= self.score_thr
            boxes = torch.as_tensor(result["bboxes"], dtype=torch.float32).reshape(-1, 4)[keep]
            labels = torch.as_tensor(result["labels"]).reshape(-1)[keep]
            total += len(gt)
            if len(gt) and len(boxes):
                hit = (bbox_overlaps(gt, boxes) >= self.iou_thr) & (gt_labels[:, None] == labels[None, :])
                found += int(hit.any(dim=1).sum())
        return {"recall": found / total if total else 0.0}
'''

TEST = '''\
"""${cls} keeps the metric contract of segdet.testing and does what its docstring says."""
from __future__ import annotations

import pytest
import torch
from segdet.testing import check_component


class _Boxes:
    """A data set as a metric sees it: a length and the annotations of each image."""

    CLASSES = ("a", "b")

    def __init__(self, anns):
        self.anns = anns

    def __len__(self):
        return len(self.anns)

    def get_ann_info(self, i):
        return self.anns[i]


def _case():
    data = _Boxes([{"bboxes": [[0, 0, 10, 10], [20, 20, 30, 30]], "labels": [0, 1]},
                   {"bboxes": [[5, 5, 15, 15]], "labels": [1]}])
    results = [
        {"bboxes": torch.tensor([[0.0, 0.0, 10.0, 9.0], [20.0, 20.0, 30.0, 30.0]]),
         "scores": torch.tensor([0.9, 0.01]), "labels": torch.tensor([0, 1])},   # 2nd: below score_thr
        {"bboxes": torch.tensor([[5.0, 5.0, 15.0, 15.0]]), "scores": torch.tensor([0.8]),
         "labels": torch.tensor([0])},                                          # wrong class
    ]
    return results, data


@pytest.mark.segdet_component("${cls}", "metrics", inputs=_case)
@pytest.mark.segdet_component("${cls}", "metrics", iou_thr=0.7)
def test_metric_contract(segdet_component):
    """Checked: evaluate(results, dataset) exists and returns {name: number}."""
    assert callable(segdet_component.evaluate)


def test_recall_counts_class_score_and_iou():
    results, data = _case()
    assert check_component("${cls}", "metrics").evaluate(results, data) == {"recall": pytest.approx(1 / 3)}
    assert check_component("${cls}", "metrics", score_thr=0.0).evaluate(results, data)["recall"] == \\
        pytest.approx(2 / 3)
    assert check_component("${cls}", "metrics", iou_thr=0.95).evaluate(results, data)["recall"] == 0.0


def test_result_count_must_match_the_data_set():
    results, data = _case()
    with pytest.raises(ValueError, match="1 results for a data set of 2 images"):
        check_component("${cls}", "metrics").evaluate(results[:1], data)
'''
