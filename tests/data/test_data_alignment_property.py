"""Property: boxes, masks and semantic maps stay aligned with the image through flip, resize,
crop, quarter-turn rotation, AutoAugment and pad chains.

The image is K non-overlapping filled rectangles of distinct colours on black; instance ``i`` has
label ``i`` (to follow it through crops), its mask is its rectangle and the semantic map holds
``i + 1`` on it. After a random chain: each box is the bounding box of its mask (exact, or within
1 px after a resize), the image shows the instance's colour inside its mask (exactly, or by
nearest palette colour away from the edges after bilinear resizing), and the map equals the masks.
"""
from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from segdet.data.transforms.compose import Compose

_OPS = ("flip", "resize", "crop", "rotate", "autoaugment", "pad")


@st.composite
def _scene(draw: st.DrawFn) -> dict[str, Any]:
    h, w = draw(st.integers(12, 64)), draw(st.integers(12, 64))
    img = np.zeros((h, w, 3), np.uint8)
    taken = np.zeros((h, w), bool)
    rects: list[tuple[int, int, int, int]] = []
    for _ in range(draw(st.integers(1, 5))):
        x1, y1 = draw(st.integers(0, w - 1)), draw(st.integers(0, h - 1))
        x2, y2 = draw(st.integers(x1 + 1, w)), draw(st.integers(y1 + 1, h))
        if not taken[y1:y2, x1:x2].any():
            taken[y1:y2, x1:x2] = True
            rects.append((x1, y1, x2, y2))
    if not rects:
        rects.append((0, 0, 1, 1))
    palette = np.array([[0, 0, 0]] + [[40 + 50 * i, 255 - 45 * i, 60 + 90 * (i % 3)] for i in range(len(rects))],
                       np.uint8)
    masks = np.zeros((len(rects), h, w), np.uint8)
    seg = np.zeros((h, w), np.uint8)
    for i, (x1, y1, x2, y2) in enumerate(rects):
        img[y1:y2, x1:x2] = palette[i + 1]
        masks[i, y1:y2, x1:x2] = 1
        seg[y1:y2, x1:x2] = i + 1
    return dict(img=img, img_shape=img.shape, ori_shape=img.shape, img_fields=["img"],
                gt_bboxes=np.array(rects, np.float32), gt_labels=np.arange(len(rects), dtype=np.int64),
                bbox_fields=["gt_bboxes"], gt_masks=masks, mask_fields=["gt_masks"],
                gt_semantic_seg=seg, seg_fields=["gt_semantic_seg"], palette=palette)


@st.composite
def _chain(draw: st.DrawFn) -> list[dict[str, Any]]:
    ops = draw(st.lists(st.sampled_from(_OPS[:5]), min_size=0, max_size=4))
    if ops.count("resize") > 1:  # one resize: each adds up to 1 px of nearest-neighbour error
        first = ops.index("resize")
        ops = [op for i, op in enumerate(ops) if op != "resize" or i == first]
    if draw(st.booleans()) or not ops:
        ops.append("pad")  # last, as in real pipelines: later steps would treat the padding as image
    cfgs: list[dict[str, Any]] = []
    for op in ops:
        if op == "flip":
            cfgs.append(dict(type="RandomFlip", flip_ratio=1.0,
                             direction=draw(st.sampled_from(["horizontal", "vertical", "diagonal"]))))
        elif op == "resize":
            cfgs.append(dict(type="Resize", img_scale=(draw(st.integers(16, 96)), draw(st.integers(16, 96))),
                             keep_ratio=draw(st.booleans()), override=True))
        elif op == "rotate":  # quarter turns map pixel centres onto pixel centres: exact
            cfgs.append(_quarter_turn(draw(st.sampled_from([90, -90, 180]))))
        elif op == "autoaugment":
            cfgs.append(dict(type="AutoAugment", policies=[
                [dict(type="RandomFlip", flip_ratio=1.0, direction="vertical")],
                [_quarter_turn(90), dict(type="RandomFlip", flip_ratio=1.0, direction="horizontal")],
                [dict(type="RandomCrop", crop_size=(10, 10), allow_negative_crop=True)]]))
        elif op == "crop":
            cfgs.append(dict(type="RandomCrop", crop_size=(draw(st.integers(4, 48)), draw(st.integers(4, 48))),
                             allow_negative_crop=True))
        else:
            cfgs.append(dict(type="Pad", size_divisor=draw(st.sampled_from([4, 8, 32]))))
    return cfgs


def _quarter_turn(angle: int) -> dict[str, Any]:
    return dict(type="RandomRotate", prob=1.0, degree=(angle, angle), auto_bound=True)


def _mask_box(mask: np.ndarray) -> np.ndarray | None:
    ys, xs = np.nonzero(mask)
    if not len(xs):
        return None
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float32)


def _check(res: dict[str, Any], palette: np.ndarray, resized: bool) -> None:
    img, boxes, masks, seg = res["img"], res["gt_bboxes"], res["gt_masks"], res["gt_semantic_seg"]
    h, w = res["img_shape"][:2]
    ph, pw = img.shape[:2]
    assert masks.shape == (len(boxes), ph, pw) and seg.shape == (ph, pw) and len(res["gt_labels"]) == len(boxes)
    assert (boxes[:, 0::2] >= 0).all() and (boxes[:, 0::2] <= w).all()
    assert (boxes[:, 1::2] >= 0).all() and (boxes[:, 1::2] <= h).all()
    assert set(np.unique(seg[:h, :w])) <= set(range(len(palette)))  # nearest: no blended labels
    tol = 1.0 if resized else 0.0
    for box, mask, label in zip(boxes, masks, res["gt_labels"]):
        colour = palette[label + 1]
        mbox = _mask_box(mask)
        if mbox is None:  # the sampled grid missed a sliver thinner than one pixel
            assert resized and min(box[2] - box[0], box[3] - box[1]) <= 1 + 1e-4
            continue
        np.testing.assert_allclose(box, mbox, atol=tol + 1e-4)
        np.testing.assert_array_equal(seg == label + 1, mask.astype(bool))  # same nearest grid
        if not resized:
            assert (img[mask.astype(bool)] == colour).all()
            assert ((img == colour).all(-1) == mask.astype(bool)).all()
    if resized:
        # bilinear pixels mix source pixels up to one source pixel (plus half a pixel of offset
        # against the nearest grid) away: deeper inside a region they show its colour exactly
        r = int(np.ceil(max(float(res["scale_factor"][0]), float(res["scale_factor"][1]), 1.0))) + 1
        kernel = np.ones((2 * r + 1, 2 * r + 1), np.uint8)
        # (instance regions only, not touching the border: a sliver thinner than the sampling
        # step is missed by the nearest grid yet blended into the image, at a region boundary)
        for label in np.unique(seg[:h, :w]):
            core = cv2.erode((seg == label).astype(np.uint8), kernel, borderType=cv2.BORDER_CONSTANT,
                             borderValue=0).astype(bool)
            if label not in (0, 255) and core.any():
                diff = np.abs(img[core].astype(np.int32) - palette[label].astype(np.int32))
                assert diff.max() <= 1, (label, diff.max())
    if res["pad_shape"][:2] != res["img_shape"][:2]:
        assert (seg[h:] == 255).all() and (seg[:, w:] == 255).all() and masks[:, h:].sum() == 0
        assert (img[h:] == 0).all() and (img[:, w:] == 0).all()


@settings(max_examples=50, deadline=None)
@given(scene=_scene(), chain=_chain(), seed=st.integers(0, 2**16))
def test_transform_chains_keep_targets_aligned(scene: dict[str, Any], chain: list[dict[str, Any]],
                                               seed: int) -> None:
    palette = scene.pop("palette")
    np.random.seed(seed)
    res = Compose(chain)(scene)
    assert res is not None  # allow_negative_crop keeps every crop
    res.setdefault("pad_shape", res["img"].shape)
    _check(res, palette, resized=any(c["type"] == "Resize" for c in chain))


@settings(max_examples=30, deadline=None)
@given(scene=_scene(), angle=st.floats(-45, 45), seed=st.integers(0, 2**16))
def test_free_rotation_boxes_enclose_their_masks(scene: dict[str, Any], angle: float, seed: int) -> None:
    """Any angle: each box holds its (nearest-sampled) mask, and the map equals the masks."""
    scene.pop("palette")
    np.random.seed(seed)
    n = len(scene["gt_bboxes"])
    res = Compose([dict(type="RandomRotate", prob=1.0, degree=(angle, angle))])(scene)
    boxes, masks, seg = res["gt_bboxes"], res["gt_masks"], res["gt_semantic_seg"]
    h, w = res["img_shape"][:2]
    assert masks.shape[1:] == (h, w) == seg.shape and len(boxes) == len(masks) == len(res["gt_labels"]) <= n
    assert (boxes[:, 2] > boxes[:, 0]).all() and (boxes[:, 3] > boxes[:, 1]).all()
    for box, mask, label in zip(boxes, masks, res["gt_labels"]):
        np.testing.assert_array_equal(seg == label + 1, mask.astype(bool))
        mbox = _mask_box(mask)
        if mbox is not None:  # nearest sampling may reach half a pixel past the true outline
            assert (mbox[:2] >= box[:2] - 1).all() and (mbox[2:] <= box[2:] + 1).all(), (box, mbox)


def test_quarter_turn_moves_box_and_mask_together() -> None:
    img = np.zeros((20, 30, 3), np.uint8)
    mask = np.zeros((1, 20, 30), np.uint8)
    mask[0, 2:6, 3:10] = 1  # rows 2..5, cols 3..9
    img[mask[0].astype(bool)] = 200
    res = Compose([_quarter_turn(90)])(dict(
        img=img, img_shape=img.shape, img_fields=["img"], gt_bboxes=np.array([[3, 2, 10, 6]], np.float32),
        gt_labels=np.array([0]), bbox_fields=["gt_bboxes"], gt_masks=mask, mask_fields=["gt_masks"]))
    # clockwise: (x, y) -> (h - 1 - y, x) on pixels of a 30 x 20 image that becomes 20 x 30
    assert res["img"].shape[:2] == (30, 20) == res["gt_masks"].shape[1:]
    np.testing.assert_allclose(res["gt_bboxes"], [[14, 3, 18, 10]], atol=1e-4)
    np.testing.assert_allclose(_mask_box(res["gt_masks"][0]), [14, 3, 18, 10])
    assert (res["img"][..., 0] == 200).sum() == 28 and res["gt_masks"].sum() == 28
