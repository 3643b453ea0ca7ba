"""segdet.visualization: labels stay inside the image, masks and maps blend by alpha, legends list classes."""
from __future__ import annotations

import cv2
import numpy as np
import torch

from segdet.visualization import draw_instances, draw_semantic, label_colour, seg_palette


def _label_box(drawn: np.ndarray, colour: tuple[int, int, int]) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero((drawn == np.array(colour)).all(-1))
    return int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())


def test_labels_at_the_borders_are_moved_inside():
    img = np.zeros((64, 160, 3), np.uint8)
    # a box at the top-left corner (no room above it) and one at the right edge (label would run off)
    boxes = torch.tensor([[0.0, 0.0, 30.0, 30.0], [150.0, 40.0, 159.0, 60.0]])
    drawn = draw_instances(img, boxes, torch.tensor([0, 1]), class_names=("circle", "triangle"))
    (tw, th), base = cv2.getTextSize("triangle", cv2.FONT_HERSHEY_SIMPLEX, 0.4, 1)
    x1, y1, x2, y2 = _label_box(drawn[:, 100:], label_colour(1))
    assert x2 + 100 <= 159 and x2 - x1 >= tw - 1  # whole text width, ending inside the image
    x1, y1, x2, y2 = _label_box(drawn[:, :60], label_colour(0))
    assert y1 == 0 and y2 >= th  # below the top edge, full height
    assert (img == 0).all()  # input untouched


def test_scores_filter_and_masks_blend():
    img = np.full((20, 20, 3), 100, np.uint8)
    masks = np.zeros((2, 20, 20), bool)
    masks[0, 12:18, 2:8] = True
    masks[1, 12:18, 12:18] = True
    drawn = draw_instances(img, np.array([[1, 11, 9, 19], [11, 11, 19, 19]], np.float32), np.array([2, 1]),
                           scores=np.array([0.9, 0.1]), masks=masks, score_thr=0.5, mask_alpha=0.25)
    expected = np.round(100 * 0.75 + np.array(label_colour(2), np.float32) * 0.25)
    np.testing.assert_array_equal(drawn[14, 4], expected)  # inside the kept mask, away from outline/label
    np.testing.assert_array_equal(drawn[14:17, 14:17], img[14:17, 14:17])  # score 0.1 < 0.5: not drawn


def test_semantic_map_palette_ignore_and_legend():
    img = np.full((32, 32, 3), 50, np.uint8)
    seg = np.zeros((32, 32), np.int64)
    seg[:, 16:] = 2
    seg[:4] = 255  # ignored: image kept
    palette = [[0, 0, 0], [255, 0, 0], [0, 255, 0]]
    drawn = draw_semantic(img, seg, ("bg", "a", "b"), palette, alpha=0.5)
    bgr = seg_palette(3, palette)
    assert tuple(bgr[2]) == (0, 255, 0) and tuple(bgr[1]) == (0, 0, 255)  # RGB palette -> BGR
    np.testing.assert_array_equal(drawn[10, 20], np.round(50 * 0.5 + bgr[2] * 0.5))
    np.testing.assert_array_equal(drawn[1, 1], img[1, 1])
    assert drawn.shape[0] >= 32 and drawn.shape[1] > 32
    legend = drawn[:, 32:]
    assert (legend == bgr[2]).all(-1).sum() > 10 and not (legend == bgr[1]).all(-1).any()  # 'a' absent
    assert draw_semantic(img, seg, legend=False).shape == img.shape
