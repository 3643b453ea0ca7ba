"""``segdet test`` with instance masks, end to end, and metrics found only through the registry.

A fake detector, registered in-test (``custom_imports``), answers every test image with its
ground truth (boxes, labels and bool masks at the original size, as a Mask R-CNN's
``simple_test(rescale=True)`` does), so ``--eval bbox segm`` must give 1.0 and the result files
must hold every instance. A throwaway metric registered in-process and one shipped by a fake
installed distribution (a real ``*.dist-info`` with a ``segdet.metrics`` entry point) are named
by ``--eval`` with no core edit.
"""
from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import torch
from click.testing import CliRunner
from pycocotools import mask as mask_utils

from segdet.data.shapes import make_shapes
from segdet.registry import unregister
from segdet_cli.main import cli
from tests.registry.fake_dists import activate, deactivate, write_dist

FAKE_MODULE = textwrap.dedent('''
    """Registered by the config's custom_imports."""
    import json

    import numpy as np
    import torch
    from pycocotools import mask as mask_utils
    from torch import nn

    from segdet.registry import register

    CLASSES = ("circle", "square", "triangle")


    @register("detectors", force=True)
    class FakeMaskDetector(nn.Module):
        """Returns each image's ground truth from ann_file, as a perfect instance segmenter."""

        def __init__(self, ann_file: str) -> None:
            super().__init__()
            self.anchor = nn.Parameter(torch.zeros(1))  # so the model has a device
            data = json.load(open(ann_file))
            names = {c["id"]: c["name"] for c in data["categories"]}
            self.images = {im["file_name"]: im for im in data["images"]}
            self.anns = {}
            for a in data["annotations"]:
                self.anns.setdefault(a["image_id"], []).append((a, CLASSES.index(names[a["category_id"]])))

        def forward(self, img, img_metas, return_loss=True, rescale=True, **kwargs):
            metas = img_metas[0] if isinstance(img, list) else img_metas
            out = []
            for meta in metas:
                info = self.images[meta["ori_filename"]]
                h, w = meta["ori_shape"][:2]
                anns = self.anns.get(info["id"], [])
                boxes = [[x, y, x + bw, y + bh] for (x, y, bw, bh) in (a["bbox"] for a, _ in anns)]
                masks = [mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(a["segmentation"], h, w)))
                         for a, _ in anns]
                out.append(dict(
                    bboxes=torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
                    scores=torch.ones(len(anns)),
                    labels=torch.tensor([k for _, k in anns], dtype=torch.long),
                    masks=torch.from_numpy(np.stack(masks).astype(bool) if masks
                                           else np.zeros((0, h, w), bool))))
            return out


    @register("metrics", force=True)
    class MaskPixelCount:
        """A throwaway metric: the number of mask pixels over the whole test set (RLE masks)."""

        def __init__(self, prefix: str = "px") -> None:
            self.prefix = prefix

        def evaluate(self, results, dataset):
            return {f"{self.prefix}_total": float(sum(int(mask_utils.area(m).sum()) for r in results
                                                      for m in r["masks"]))}
''')

DIST_METRIC = textwrap.dedent('''
    class DistMetric:
        """Shipped by the fake distribution segdet-metric-dist: images with at least one mask."""

        def __init__(self, min_masks: int = 1) -> None:
            self.min_masks = min_masks

        def evaluate(self, results, dataset, logger=None):
            return {"dist_images": float(sum(len(r["masks"]) >= self.min_masks for r in results))}
''')

CONFIG = textwrap.dedent('''
    custom_imports = dict(imports=['segdet_fake_maskdet'])
    model = dict(type='FakeMaskDetector', ann_file='{ann}')
    test_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='MultiScaleFlipAug', img_scale=(48, 48), flip=False,
             transforms=[dict(type='Resize', keep_ratio=True), dict(type='RandomFlip'),
                         dict(type='Normalize', mean=[0, 0, 0], std=[1, 1, 1], to_rgb=True),
                         dict(type='Pad', size_divisor=32), dict(type='ImageToTensor', keys=['img']),
                         dict(type='Collect', keys=['img'])]),
    ]
    data = dict(samples_per_gpu=2, workers_per_gpu=0,
                train=dict(type='CocoDataset', ann_file='{ann}', img_prefix='{img}',
                           classes=('circle', 'square', 'triangle'), pipeline=[]),
                test=dict(type='CocoDataset', ann_file='{ann}', img_prefix='{img}',
                          classes=('circle', 'square', 'triangle'), pipeline=test_pipeline))
    evaluation = dict(interval=1, metric='bbox', classwise=True, save_best='auto')
''')


@pytest.fixture()
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    files = make_shapes(tmp_path / "shapes", seed=0, num_train=1, num_val=4, img_size=64)
    (tmp_path / "segdet_fake_maskdet.py").write_text(FAKE_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg = tmp_path / "fake_mask.py"
    cfg.write_text(CONFIG.format(ann=files["val"], img=tmp_path / "shapes" / "images" / "val"))
    ckpt = tmp_path / "fake.pth"
    torch.save({"state_dict": {"anchor": torch.zeros(1)}, "meta": {"CLASSES": ("circle", "square", "triangle")}},
               ckpt)
    yield dict(cfg=str(cfg), ckpt=str(ckpt), ann=json.loads(Path(files["val"]).read_text()), tmp=tmp_path)
    unregister("detectors", "FakeMaskDetector")
    unregister("metrics", "MaskPixelCount")
    sys.modules.pop("segdet_fake_maskdet", None)  # the next test's custom_imports registers again


def _run(*args: str) -> str:
    res = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res.output


def _values(output: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in output.splitlines() if ": " in line)


def _gt_pixels(ann: dict[str, Any]) -> int:
    sizes = {im["id"]: (im["height"], im["width"]) for im in ann["images"]}
    return sum(int(mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(a["segmentation"],
                                                                                *sizes[a["image_id"]]))).sum())
               for a in ann["annotations"])


def test_eval_bbox_segm_and_a_registered_metric(setup: dict[str, Any]) -> None:
    pkl = setup["tmp"] / "raw.pkl"
    out = _values(_run("test", setup["cfg"], setup["ckpt"], "--device", "cpu", "--out", str(pkl),
                       "--eval", "bbox", "segm", "MaskPixelCount"))
    raw = torch.load(pkl, weights_only=True)  # the test loop keeps masks as RLE, one per box
    assert len(raw) == 4 and all(len(r["masks"]) == len(r["bboxes"]) for r in raw)
    assert all(m["size"] == [64, 64] and isinstance(m["counts"], str) for r in raw for m in r["masks"])
    assert float(out["bbox_mAP"]) == 1.0 and float(out["segm_mAP"]) == 1.0
    assert float(out["segm_mAP_50"]) == 1.0
    # the config's classwise=True reached CocoMetric; save_best/interval (hook keys) dropped out
    assert float(out["px_total"]) == _gt_pixels(setup["ann"]) > 0
    bad = CliRunner().invoke(cli, ["test", setup["cfg"], setup["ckpt"], "--device", "cpu", "--eval", "segm",
                                   "--eval-options", "bogus=1"])
    assert bad.exit_code != 0 and "unknown options ['bogus']" in bad.output


def test_format_only_writes_bbox_and_segm_json(setup: dict[str, Any]) -> None:
    prefix = setup["tmp"] / "sub" / "preds"
    _run("test", setup["cfg"], setup["ckpt"], "--device", "cpu", "--format-only",
         "--eval-options", f"jsonfile_prefix={prefix}")
    bbox = json.loads(Path(f"{prefix}.bbox.json").read_text())
    segm = json.loads(Path(f"{prefix}.segm.json").read_text())
    n = len(setup["ann"]["annotations"])
    assert len(bbox) == len(segm) == n
    gt = {a["id"]: a for a in setup["ann"]["annotations"]}
    assert sorted((d["image_id"], d["category_id"]) for d in segm) == \
        sorted((a["image_id"], a["category_id"]) for a in gt.values())
    area = sum(int(mask_utils.area(d["segmentation"])) for d in segm)
    assert area == _gt_pixels(setup["ann"])


def test_show_dir_draws_translucent_masks(setup: dict[str, Any]) -> None:
    show = setup["tmp"] / "show"
    _run("test", setup["cfg"], setup["ckpt"], "--device", "cpu", "--show-dir", str(show))
    drawn = sorted(show.rglob("*.png"))
    assert len(drawn) == len(setup["ann"]["images"])
    first = setup["ann"]["images"][0]
    ann = next(a for a in setup["ann"]["annotations"] if a["image_id"] == first["id"])
    mask = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(ann["segmentation"], 64, 64))).astype(bool)
    original = cv2.imread(str(setup["tmp"] / "shapes" / "images" / "val" / first["file_name"]))
    picture = cv2.imread(str(next(p for p in drawn if p.name == first["file_name"])))
    inner = cv2.erode(mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)  # away from box lines
    assert inner.any()
    changed = np.abs(picture.astype(int) - original.astype(int)).sum(-1) > 0
    assert changed[inner].mean() > 0.9  # tinted inside the mask
    outside = ~cv2.dilate(mask.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    x, y, w, h = (int(v) for v in ann["bbox"])
    far = outside.copy()
    far[max(0, y - 12):y + h + 12, max(0, x - 12):x + w + 12] = False  # box, label and text
    assert not changed[far & ~_other_masks(setup["ann"], first["id"], ann["id"])].any()


def _other_masks(ann: dict[str, Any], image_id: int, skip: int) -> np.ndarray:
    out = np.zeros((64, 64), bool)
    for a in ann["annotations"]:
        if a["image_id"] == image_id and a["id"] != skip:
            x, y, w, h = (int(v) for v in a["bbox"])
            out[max(0, y - 12):y + h + 12, max(0, x - 12):x + w + 12] = True
    return out


def test_metric_from_an_installed_distribution(setup: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    site = setup["tmp"] / "site"
    write_dist(site, "segdet-metric-dist", "0.1.0", {"segdet.metrics": {"DistMetric": "fake_dist_metric:DistMetric"}},
               modules={"fake_dist_metric": DIST_METRIC})
    activate(site, monkeypatch)
    try:
        out = _values(_run("test", setup["cfg"], setup["ckpt"], "--device", "cpu", "--eval", "DistMetric",
                           "--eval-options", "min_masks=2"))
        expected = sum(sum(a["image_id"] == im["id"] for a in setup["ann"]["annotations"]) >= 2
                       for im in setup["ann"]["images"])
        assert float(out["dist_images"]) == expected
        listed = _run("list-components", "--group", "metrics")
        assert "DistMetric" in listed and "segdet-metric-dist" in listed
    finally:
        deactivate(site)
