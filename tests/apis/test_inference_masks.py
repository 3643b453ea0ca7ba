"""inference_detector returns instance masks at the original image size; show_result lays them
translucent over the image. The detector is a stand-in registered in-test."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from segdet.apis.inference import _colour, inference_detector, init_detector, show_result
from segdet.config import Config
from segdet.registry import register, unregister


class RectMaskDetector(nn.Module):
    """One 'instance' per image: the pixels brighter than ``thr`` in the network input, mapped
    back to the original image (undoing resize and padding) as a Mask R-CNN's rescale does."""

    def __init__(self, thr: float = 0.5) -> None:
        super().__init__()
        self.thr = thr
        self.anchor = nn.Parameter(torch.zeros(1))

    def forward(self, img: Any, img_metas: Any, return_loss: bool = True, rescale: bool = True,
                **kwargs: Any) -> list[dict[str, torch.Tensor]]:
        img, metas = img[0], img_metas[0]
        out = []
        for x, meta in zip(img, metas):
            h, w = meta["img_shape"][:2]
            oh, ow = meta["ori_shape"][:2]
            bright = (x.mean(0)[:h, :w] > self.thr).float()[None, None]
            mask = nn.functional.interpolate(bright, size=(oh, ow), mode="nearest")[0, 0].bool()
            ys, xs = torch.nonzero(mask, as_tuple=True)
            box = torch.stack([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]).float()
            out.append(dict(bboxes=box[None], scores=torch.tensor([0.9]), labels=torch.tensor([1]),
                            masks=mask[None]))
        return out


@pytest.fixture()
def model(tmp_path: Path) -> Any:
    register("detectors", "RectMaskDetector", force=True)(RectMaskDetector)
    cfg = Config(dict(
        model=dict(type="RectMaskDetector", thr=0.5),
        data=dict(test=dict(classes=("a", "b"), pipeline=[
            dict(type="LoadImageFromFile"),
            dict(type="MultiScaleFlipAug", img_scale=(60, 40), flip=False, transforms=[
                dict(type="Resize", keep_ratio=True), dict(type="RandomFlip"),
                dict(type="Normalize", mean=[0, 0, 0], std=[255, 255, 255], to_rgb=True),
                dict(type="Pad", size_divisor=32), dict(type="ImageToTensor", keys=["img"]),
                dict(type="Collect", keys=["img"])])]))))
    yield init_detector(cfg, device="cpu")
    unregister("detectors", "RectMaskDetector")


def test_inference_returns_original_size_bool_masks_and_show_blends_them(model: Any, tmp_path: Path) -> None:
    img = np.full((20, 30, 3), 30, np.uint8)
    img[5:15, 3:15] = 250  # the bright 'object': rows 5..14, cols 3..14; the pipeline doubles the size
    path = tmp_path / "img.png"
    cv2.imwrite(str(path), img)
    result = inference_detector(model, str(path))
    masks = result["masks"]
    assert masks.dtype == torch.bool and masks.shape == (1, 20, 30)  # not the 64x64 padded input
    expected = np.zeros((20, 30), bool)
    expected[5:15, 3:15] = True
    np.testing.assert_array_equal(masks[0].numpy(), expected)
    assert result["bboxes"].tolist() == [[3.0, 5.0, 15.0, 15.0]]

    drawn = show_result(str(path), result, model.CLASSES, out_file=tmp_path / "out" / "shown.png",
                        mask_alpha=0.5, thickness=1)
    assert (tmp_path / "out" / "shown.png").exists()
    colour = np.array(_colour(1), np.float32)
    boxes_only = show_result(str(path), {k: v for k, v in result.items() if k != "masks"}, model.CLASSES)
    free = (boxes_only == img).all(-1) & expected  # mask pixels not under the box outline or label
    assert free.sum() >= 20
    np.testing.assert_array_equal(drawn[free], np.broadcast_to(np.round(250 * 0.5 + colour * 0.5), (free.sum(), 3)))
    assert (drawn[17:, 18:] == 30).all()  # untouched far from the instance
    # RLE masks (as written to results json) draw the same
    from pycocotools import mask as mask_utils

    rles = mask_utils.encode(np.asfortranarray(expected[:, :, None].astype(np.uint8)))
    again = show_result(str(path), {**result, "masks": rles}, model.CLASSES, mask_alpha=0.5)
    np.testing.assert_array_equal(again, drawn)
    hidden = show_result(str(path), result, model.CLASSES, score_thr=0.95)  # below threshold: nothing drawn
    np.testing.assert_array_equal(hidden, img)
