"""init_detector / inference_detector / show_result on arrays and on files."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from segdet.apis import inference_detector, init_detector, show_result
from segdet.config import Config

NORM = {"mean": [123.675, 116.28, 103.53], "std": [58.395, 57.12, 57.375], "to_rgb": True}


def _config(flip: bool = False) -> Config:
    return Config({
        "model": {
            "type": "RetinaNet",
            "backbone": {"type": "ResNet", "depth": 18, "base_channels": 8, "out_indices": (1, 2, 3)},
            "neck": {"type": "FPN", "out_channels": 16, "num_outs": 3},
            "bbox_head": {"type": "RetinaHead", "num_classes": 3, "feat_channels": 16, "stacked_convs": 1,
                          "anchor_generator": {"type": "AnchorGenerator", "octave_base_scale": 2,
                                               "scales_per_octave": 1, "ratios": [1.0], "strides": [8, 16, 32]}},
            "test_cfg": {"nms_pre": 100, "min_bbox_size": 0, "score_thr": 0.0,
                         "nms": {"type": "nms", "iou_threshold": 0.5}, "max_per_img": 5},
        },
        "data": {"test": {"classes": ("circle", "square", "triangle"), "pipeline": [
            {"type": "LoadImageFromFile"},
            {"type": "MultiScaleFlipAug", "img_scale": (64, 64), "flip": flip, "transforms": [
                {"type": "Resize", "keep_ratio": True},
                {"type": "RandomFlip"},
                {"type": "Normalize", **NORM},
                {"type": "Pad", "size_divisor": 32},
                {"type": "ImageToTensor", "keys": ["img"]},
                {"type": "Collect", "keys": ["img"]},
            ]},
        ]}},
    })


def _image(h: int = 48, w: int = 40) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 255, (h, w, 3), dtype=np.uint8)


def test_inference_on_an_array_returns_boxes_in_original_pixels():
    model = init_detector(_config())
    assert model.CLASSES == ("circle", "square", "triangle")
    assert not model.training
    result = inference_detector(model, _image())
    n = result["bboxes"].shape[0]
    assert 0 < n <= 5 and result["scores"].shape == (n,) and result["labels"].dtype == torch.long
    assert (result["bboxes"][:, 0::2] <= 40).all() and (result["bboxes"][:, 1::2] <= 48).all()


def test_inference_on_paths_equals_inference_on_arrays(tmp_path):
    model = init_detector(_config())
    images = [_image(), _image(32, 64)]
    paths = []
    for i, img in enumerate(images):
        paths.append(str(tmp_path / f"{i}.png"))
        cv2.imwrite(paths[-1], img)
    from_files = inference_detector(model, paths)
    from_arrays = inference_detector(model, images)
    assert len(from_files) == len(from_arrays) == 2
    for a, b in zip(from_files, from_arrays):
        torch.testing.assert_close(a["bboxes"], b["bboxes"])
        torch.testing.assert_close(a["scores"], b["scores"])


def test_flip_augmentation_goes_through_aug_test():
    result = inference_detector(init_detector(_config(flip=True)), _image())
    assert result["bboxes"].shape[0] > 0
    assert (result["bboxes"] >= 0).all() and (result["bboxes"][:, 0::2] <= 40).all()


def test_init_detector_loads_a_checkpoint(tmp_path):
    model = init_detector(_config())
    for p in model.parameters():
        torch.nn.init.constant_(p, 0.5)
    path = tmp_path / "ckpt.pth"
    torch.save({"meta": {"CLASSES": ("a", "b", "c")}, "state_dict": model.state_dict()}, path)
    loaded = init_detector(_config(), str(path))
    assert loaded.CLASSES == ("a", "b", "c")
    assert torch.equal(loaded.bbox_head.retina_cls.weight, model.bbox_head.retina_cls.weight)


def test_missing_image_is_reported(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.png"):
        inference_detector(init_detector(_config()), str(tmp_path / "nope.png"))


def test_show_result_draws_and_writes(tmp_path):
    img = np.zeros((40, 40, 3), np.uint8)
    result = {"bboxes": torch.tensor([[5.0, 5.0, 30.0, 30.0], [1.0, 1.0, 2.0, 2.0]]),
              "scores": torch.tensor([0.9, 0.1]), "labels": torch.tensor([1, 0])}
    out = tmp_path / "vis" / "out.png"
    drawn = show_result(img, result, ("circle", "square"), score_thr=0.3, out_file=out)
    assert out.is_file()
    assert drawn.shape == img.shape and drawn.sum() > 0 and img.sum() == 0
    assert drawn[1:3, 1:3].sum() == 0  # the low-score box is not drawn
