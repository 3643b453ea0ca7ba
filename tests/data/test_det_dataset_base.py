"""DetDatasetBase: paths joined to data_root, the sample dict handed to the pipeline, the drop-retry loop."""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from segdet.data.datasets.base import DetDatasetBase, join_root, resolve_classes


class _Drop:
    """Drops the sample of image 0 (as a crop without boxes would); records what it was given."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    def __call__(self, results: dict[str, Any]) -> dict[str, Any] | None:
        self.seen.append(dict(results))
        return None if results["img_info"]["id"] == 0 else results


class _Tiny(DetDatasetBase):
    CLASSES = ("a", "b")

    def __init__(self, pipeline: list[Any], num: int = 3, test_mode: bool = False) -> None:
        self._init_common("ann.json", pipeline, None, "/data", "imgs", None, test_mode, True)
        self.data_infos = [dict(id=i, filename=f"{i}.png", width=8, height=8) for i in range(num)]

    def get_ann_info(self, idx: int) -> dict[str, Any]:
        return dict(bboxes=np.zeros((1, 4), np.float32), labels=np.array([idx % 2], np.int64))


def test_paths_classes_and_the_sample_given_to_the_pipeline() -> None:
    drop = _Drop()
    ds = _Tiny([drop])
    assert ds.ann_file == "/data/ann.json" and ds.img_prefix == "/data/imgs" and ds.seg_prefix is None
    assert ds.CLASSES == ("a", "b") and len(ds) == 3
    sample = ds[1]
    assert sample["img_prefix"] == "/data/imgs"
    assert sample["bbox_fields"] == [] and sample["mask_fields"] == [] and sample["seg_fields"] == []
    assert sample["ann_info"]["labels"].tolist() == [1]
    assert "ann_info" not in _Tiny([drop], test_mode=True).prepare_test_img(1)  # type: ignore[operator]
    assert "_Tiny(ann_file='/data/ann.json', images=3" in repr(ds)


def test_a_dropped_training_sample_draws_another_image() -> None:
    np.random.seed(0)
    drop = _Drop()
    sample = _Tiny([drop], num=4)[0]
    assert sample["img_info"]["id"] != 0
    assert drop.seen[0]["img_info"]["id"] == 0 and len(drop.seen) >= 2


def test_a_pipeline_dropping_every_sample_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="dropped 50 samples in a row"):
        _Tiny([_Drop()], num=1)[0]


def test_join_root_and_resolve_classes(tmp_path: Any) -> None:
    assert join_root("/r", "a/b") == "/r/a/b"
    assert join_root("/r", "/abs") == "/abs" and join_root(None, "x") == "x" and join_root("/r", None) is None
    names = tmp_path / "classes.txt"
    names.write_text("cat\n\ndog\n")
    assert resolve_classes(str(names), ()) == ("cat", "dog")
    assert resolve_classes(None, ["x"]) == ("x",) and resolve_classes(["y"], ["x"]) == ("y",)
