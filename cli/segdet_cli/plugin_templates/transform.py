"""``segdet new-plugin transform NAME``: a data pipeline step on a results dict."""
from __future__ import annotations

GROUP = "transforms"
DEPENDENCIES = ("numpy>=1.24",)
SUMMARY = "a segdet transform: random grayscale of the images of a results dict"

USAGE = '''\
In a data pipeline, after loading and before normalising:

```python
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='${cls}', prob=0.2),
    ...
]
```
'''

COMPONENT = '''\
"""${cls}: with probability ``prob``, replace every image of the sample by its gray version."""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["${cls}"]

_BGR_TO_GRAY = np.array([0.114, 0.587, 0.299], dtype=np.float32)


class ${cls}:
    """Random grayscale: each of the 3 channels becomes the luma ``0.299 R + 0.587 G + 0.114 B``.

    Args:
        prob: probability of converting a sample. Default 0.1.
        seed: seed of this transform's own generator; ``None`` (default) draws from the OS.

    Reads and writes ``results[key]`` for each ``key`` of ``results['img_fields']`` (default
    ``['img']``): ``(H, W, 3)`` BGR arrays, dtype kept. Boxes, masks and maps are untouched.
    Records ``results['grayscale']`` (bool).
    """

    def __init__(self, prob: float = 0.1, seed: int | None = None) -> None:
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f"${cls}: prob must be in [0, 1], got {prob}")
        self.prob = float(prob)
        self._rng = np.random.default_rng(seed)

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        gray = bool(self._rng.random() < self.prob)
        if gray:
            for key in results.get("img_fields", ["img"]):
                img = results[key]
                luma = img.astype(np.float32) @ _BGR_TO_GRAY
                results[key] = np.repeat(luma[..., None], 3, axis=2).round().astype(img.dtype)
        results["grayscale"] = gray
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(prob={self.prob})"
'''

TEST = '''\
"""${cls} keeps the transform contract of segdet.testing and does what its docstring says."""
from __future__ import annotations

import numpy as np
import pytest
from segdet.testing import check_component, default_results


@pytest.mark.segdet_component("${cls}", "transforms")
@pytest.mark.segdet_component("${cls}", "transforms", prob=1.0, seed=0)
def test_transform_contract(segdet_component):
    """Checked: maps a results dict (as loaded by LoadImageFromFile + LoadAnnotations) to a results dict."""
    assert 0.0 <= segdet_component.prob <= 1.0


def test_prob_one_makes_every_channel_the_luma():
    transform = check_component("${cls}", "transforms", prob=1.0, seed=0)
    results = default_results()
    before = results["img"].astype(np.float32)
    out = transform(results)
    assert out["grayscale"] and out["img"].dtype == np.uint8 and out["img"].shape == before.shape
    luma = 0.114 * before[..., 0] + 0.587 * before[..., 1] + 0.299 * before[..., 2]
    for c in range(3):
        np.testing.assert_allclose(out["img"][..., c], luma, atol=0.51)
    assert out["gt_bboxes"].shape == (2, 4)


def test_prob_zero_leaves_the_image():
    transform = check_component("${cls}", "transforms", prob=0.0)
    results = default_results()
    img = results["img"].copy()
    out = transform(results)
    assert not out["grayscale"] and np.array_equal(out["img"], img)


def test_prob_outside_unit_interval_is_refused():
    with pytest.raises(Exception, match="prob"):
        check_component("${cls}", "transforms", prob=1.5)
'''
