"""RandomCenterCropPad (CornerNet's data transform) and the CornerNet configs through check-config."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from segdet_head_corner.random_center_crop_pad import RandomCenterCropPad

from segdet.api import build

_ROOT = Path(__file__).resolve().parents[4]
_NORM = {"mean": [10.0, 20.0, 30.0], "std": [1.0, 1.0, 1.0], "to_rgb": True}


def _results() -> dict:
    img = np.full((40, 60, 3), 200.0, dtype=np.float32)
    return {"img": img, "img_shape": img.shape, "gt_bboxes": np.array([[10, 8, 30, 20], [50, 30, 59, 39]], np.float32),
            "gt_labels": np.array([0, 2]), "bbox_fields": ["gt_bboxes"]}


def test_test_mode_pads_centred_and_records_the_border() -> None:
    t = build({"type": "RandomCenterCropPad", "crop_size": None, "ratios": None, "border": None, "test_mode": True,
               "test_pad_mode": ["logical_or", 31], **_NORM}, "transforms")
    out = t(_results())
    assert out["img"].shape == (63, 63, 3) and out["pad_shape"] == (63, 63, 3) and out["img_shape"] == (40, 60, 3)
    top, bottom, left, right = out["border"].tolist()
    assert (top, bottom, left, right) == (11.0, 51.0, 1.0, 61.0)
    np.testing.assert_array_equal(out["img"][11:51, 1:61], 200.0)
    # the canvas is the mean in the image's BGR order (to_rgb: config mean is RGB)
    np.testing.assert_array_equal(out["img"][0, 0], [30.0, 20.0, 10.0])


def test_train_mode_crops_shifts_and_filters_boxes() -> None:
    np.random.seed(0)
    t = RandomCenterCropPad(crop_size=(32, 32), ratios=(1.0,), border=8, test_mode=False, test_pad_mode=None, **_NORM)
    for _ in range(5):
        out = t(_results())
        assert out["img"].shape == (32, 32, 3) and out["img_shape"] == (32, 32, 3)
        boxes, labels = out["gt_bboxes"], out["gt_labels"]
        assert len(boxes) == len(labels) >= 1   # a crop always keeps some box centre
        assert (boxes[:, 0::2] >= 0).all() and (boxes[:, 0::2] <= 32).all() and (boxes[:, 2] > boxes[:, 0]).all()
        # a kept box still covers image pixels (200) inside the crop
        x1, y1, x2, y2 = boxes[0].astype(int)
        assert (out["img"][y1:y2, x1:x2] == 200.0).any()


def test_arguments_and_dtype_are_checked() -> None:
    with pytest.raises(ValueError, match="set crop_size, ratios and border to None"):
        RandomCenterCropPad(crop_size=(8, 8), test_mode=True, **_NORM)
    with pytest.raises(ValueError, match="set test_pad_mode=None"):
        RandomCenterCropPad(crop_size=(8, 8), **_NORM)
    t = RandomCenterCropPad(crop_size=None, ratios=None, border=None, test_mode=True, **_NORM)
    with pytest.raises(TypeError, match="to_float32=True"):
        t({"img": np.zeros((4, 4, 3), np.uint8)})


@pytest.mark.parametrize("name", ["cornernet_hourglass104_mstest_10x48b_coco.py", "cornernet_hourglass_shapes.py"])
def test_cornernet_configs_pass_check_config(name: str) -> None:
    # the real command, as a user runs it (the CLI is no plugin API, so not imported)
    exe = Path(sys.executable).with_name("segdet")
    result = subprocess.run([str(exe), "check-config", str(_ROOT / "configs" / "cornernet" / name)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith(": ok")


def test_coco_config_pipelines_run_on_an_image(tmp_path: Path) -> None:
    """The seeds' CornerNet pipelines (PhotoMetricDistortion, RandomCenterCropPad, flip test) run."""
    import cv2

    from segdet import Config
    from segdet import build as build_component

    np.random.seed(0)
    cv2.imwrite(str(tmp_path / "a.png"), np.random.randint(0, 255, (60, 90, 3), np.uint8))
    cfg = Config.fromfile(str(_ROOT / "configs" / "cornernet" / "cornernet_hourglass104_mstest_10x48b_coco.py"))

    def run(pipeline: list, results: dict) -> dict:
        for step in pipeline:
            results = build_component(step, "transforms")(results)
        return results

    test = run(cfg.data.test.pipeline, {"img_prefix": str(tmp_path), "img_info": {"filename": "a.png"}})
    assert len(test["img"]) == 2 and tuple(test["img"][0].shape) == (3, 127, 127)   # 60 | 127, 90 | 127
    metas = test["img_metas"]
    assert [m["flip"] for m in metas] == [False, True]
    assert metas[0]["border"].tolist() == [33.0, 93.0, 18.0, 108.0] and metas[0]["img_shape"][:2] == (60, 90)
    train = run(cfg.data.train.pipeline, {
        "img_prefix": str(tmp_path), "img_info": {"filename": "a.png"}, "bbox_fields": [],
        "ann_info": {"bboxes": np.array([[10, 10, 50, 40]], np.float32), "labels": np.array([3])}})
    assert tuple(train["img"].shape) == (3, 511, 511) and train["gt_labels"].tolist() == [3]
    assert train["gt_bboxes"].shape == (1, 4)
