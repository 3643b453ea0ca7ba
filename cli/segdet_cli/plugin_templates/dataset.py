"""``segdet new-plugin dataset NAME``: a detection data set read from one JSON file."""
from __future__ import annotations

GROUP = "datasets"
DEPENDENCIES = ("numpy>=1.24",)
SUMMARY = "a segdet data set: detection samples listed in one JSON file"

USAGE = '''\
An annotation file `train.json`:

```json
{"classes": ["cat", "dog"],
 "images": [{"filename": "0001.jpg", "width": 640, "height": 480,
             "bboxes": [[10, 20, 200, 220]], "labels": [1]}]}
```

and in a config:

```python
data = dict(train=dict(type='${cls}', ann_file='data/train.json', img_prefix='data/images/',
                       pipeline=train_pipeline))
evaluation = dict(metric='VOCMetric')   # any metric class of group segdet.metrics
```
'''

COMPONENT = '''\
"""${cls}: detection samples listed in one JSON file."""
from __future__ import annotations

import json
import os.path as osp
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from segdet.api import DataFileNotFoundError, build

__all__ = ["${cls}"]


class ${cls}:
    """A detection data set: ``{"classes": [...], "images": [{"filename", "width", "height",
    "bboxes": [[x1, y1, x2, y2], ...], "labels": [...]}, ...]}`` in ``ann_file``.

    Args:
        ann_file: path of the JSON file.
        pipeline: transform configs (group ``transforms``), applied in order to each sample.
        img_prefix: folder the ``filename`` s are relative to. Default ``''``.
        test_mode: no annotations go into the samples. Default False.

    ``dataset[i]`` is the pipeline's output for ``dict(img_info=..., ann_info=..., img_prefix=...,
    bbox_fields=[], mask_fields=[], seg_fields=[])``; ``get_ann_info(i)`` gives ``dict(bboxes
    float32 (K, 4), labels int64 (K,))``; ``CLASSES`` comes from the file.
    """

    def __init__(
        self,
        ann_file: str,
        pipeline: Sequence[Mapping[str, Any]] = (),
        img_prefix: str = "",
        test_mode: bool = False,
    ) -> None:
        if not osp.isfile(ann_file):
            raise DataFileNotFoundError(f"${cls}: annotation file {ann_file!r} (config key 'ann_file') "
                                        "does not exist")
        with open(ann_file) as f:
            content = json.load(f)
        self.CLASSES: tuple[str, ...] = tuple(content["classes"])
        self.data_infos: list[dict[str, Any]] = list(content["images"])
        self.img_prefix = img_prefix
        self.test_mode = test_mode
        self.pipeline = [build(step, "transforms") for step in pipeline]
        self.flag = np.array([int(i["width"] > i["height"]) for i in self.data_infos], dtype=np.uint8)

    def __len__(self) -> int:
        return len(self.data_infos)

    def get_ann_info(self, idx: int) -> dict[str, np.ndarray]:
        """Boxes ``(K, 4)`` float32 and labels ``(K,)`` int64 of image ``idx``."""
        info = self.data_infos[idx]
        return {"bboxes": np.asarray(info.get("bboxes", []), dtype=np.float32).reshape(-1, 4),
                "labels": np.asarray(info.get("labels", []), dtype=np.int64).reshape(-1)}

    def __getitem__(self, idx: int) -> dict[str, Any]:
        results: dict[str, Any] = {"img_info": self.data_infos[idx], "img_prefix": self.img_prefix,
                                   "bbox_fields": [], "mask_fields": [], "seg_fields": []}
        if not self.test_mode:
            results["ann_info"] = self.get_ann_info(idx)
        for step in self.pipeline:
            results = step(results)
        return results

    def evaluate(self, results: Sequence[Any], metric: str | Sequence[str] = "VOCMetric",
                 logger: Any = None) -> dict[str, Any]:
        """Each named metric (group ``metrics``) evaluated on ``results``, merged into one dict."""
        out: dict[str, Any] = {}
        for name in [metric] if isinstance(metric, str) else metric:
            out.update(build({"type": name}, "metrics").evaluate(results, self))
        return out
'''

TEST = '''\
"""${cls} keeps the data set contract of segdet.testing and does what its docstring says."""
from __future__ import annotations

import json

import numpy as np
import pytest
from segdet.testing import check_component


@pytest.fixture
def ann_file(tmp_path):
    """Two tiny PNG images and their annotation file."""
    import cv2

    images = []
    for i in range(2):
        cv2.imwrite(str(tmp_path / f"{i}.png"), np.full((24, 32, 3), 60 * i, dtype=np.uint8))
        images.append({"filename": f"{i}.png", "width": 32, "height": 24,
                       "bboxes": [[2, 2, 12, 10 + i]], "labels": [i]})
    path = tmp_path / "train.json"
    path.write_text(json.dumps({"classes": ["cat", "dog"], "images": images}))
    return str(path)


def _load(ann_file):
    return dict(ann_file=ann_file, img_prefix=str(ann_file).rsplit("/", 1)[0],
                pipeline=[dict(type="LoadImageFromFile"), dict(type="LoadAnnotations", with_bbox=True)])


def test_dataset_contract(ann_file):
    """Checked: len, indexing to a dict, CLASSES as a tuple of names, evaluate."""
    data = check_component("${cls}", "datasets", **_load(ann_file))
    assert len(data) == 2 and data.CLASSES == ("cat", "dog")


def test_samples_carry_image_and_boxes(ann_file):
    sample = check_component("${cls}", "datasets", **_load(ann_file))[1]
    assert sample["img"].shape == (24, 32, 3) and sample["img"][0, 0, 0] == 60
    np.testing.assert_array_equal(sample["gt_bboxes"], [[2, 2, 12, 11]])
    np.testing.assert_array_equal(sample["gt_labels"], [1])


def test_missing_annotation_file_names_the_key(tmp_path):
    with pytest.raises(Exception, match="annotation file .* does not exist"):
        check_component("${cls}", "datasets", ann_file=str(tmp_path / "nope.json"))
'''
