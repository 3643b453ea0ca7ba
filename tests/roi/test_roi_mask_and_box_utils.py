"""RoI helpers: bbox2roi/roi2bbox, augmentation box mapping, mask targets and mask pasting."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from segdet.api import bbox2roi, bbox_mapping, bbox_mapping_back, mask_target, paste_masks, roi2bbox
from segdet.models.roi_heads.mask_ops import _paste_chunk


def test_bbox2roi_roundtrip_and_empty_images():
    boxes = [torch.tensor([[1.0, 2.0, 3.0, 4.0, 0.9]]), torch.zeros((0, 5)), torch.tensor([[5.0, 6.0, 7.0, 8.0, 0.1]])]
    rois = bbox2roi(boxes)
    assert rois.tolist() == [[0.0, 1.0, 2.0, 3.0, 4.0], [2.0, 5.0, 6.0, 7.0, 8.0]]
    back = roi2bbox(rois)
    assert [b.shape[0] for b in back] == [1, 0, 1]
    torch.testing.assert_close(back[2], boxes[2][:, :4])
    assert bbox2roi([]).shape == (0, 5)


@pytest.mark.parametrize("direction", ["horizontal", "vertical", "diagonal"])
def test_bbox_mapping_is_inverted_by_mapping_back(direction):
    meta = {"img_shape": (50, 80, 3), "scale_factor": np.array([2.0, 2.5, 2.0, 2.5], np.float32), "flip": True,
            "flip_direction": direction}
    boxes = torch.tensor([[1.0, 2.0, 11.0, 12.0], [20.0, 3.0, 30.0, 19.0]])
    mapped = bbox_mapping(boxes, meta)
    if direction == "horizontal":
        torch.testing.assert_close(mapped[0], torch.tensor([80.0 - 22.0, 5.0, 80.0 - 2.0, 30.0]))
    torch.testing.assert_close(bbox_mapping_back(mapped, meta), boxes)


def test_mask_target_crops_the_assigned_instance():
    masks = torch.zeros((2, 64, 64), dtype=torch.uint8)
    masks[0, :, :32] = 1  # instance 0: left half
    masks[1, 32:, :] = 1  # instance 1: bottom half
    proposals = torch.tensor([[0.0, 0.0, 64.0, 64.0], [0.0, 0.0, 64.0, 64.0], [16.0, 16.0, 48.0, 48.0]])
    inds = torch.tensor([0, 1, 0])
    t = mask_target([proposals], [inds], [masks], 28)
    assert t.shape == (3, 28, 28) and t.dtype == torch.float32
    assert bool((t[0, :, :14] == 1).all()) and bool((t[0, :, 14:] == 0).all())
    assert bool((t[1, 14:] == 1).all()) and bool((t[1, :14] == 0).all())
    assert bool((t[2, :, :14] == 1).all()) and bool((t[2, :, 14:] == 0).all())
    # Per image, empty images and rectangular sizes.
    t2 = mask_target([proposals[:1], torch.zeros((0, 4))], [inds[:1], inds[:0]],
                     [masks, torch.zeros((0, 64, 64), dtype=torch.uint8)], (14, 7))
    assert t2.shape == (1, 14, 7)


def test_mask_target_rejects_missing_masks():
    with pytest.raises(ValueError, match="gt_masks has shape"):
        mask_target([torch.tensor([[0.0, 0.0, 8.0, 8.0]])], [torch.tensor([0])],
                    [torch.zeros((0, 16, 16), dtype=torch.uint8)], 7)
    with pytest.raises(TypeError, match="LoadAnnotations"):
        mask_target([torch.tensor([[0.0, 0.0, 8.0, 8.0]])], [torch.tensor([0])], [[[0]]], 7)


def test_paste_full_masks_fill_exactly_their_boxes():
    probs = torch.ones((2, 28, 28))
    boxes = torch.tensor([[10.0, 20.0, 30.0, 40.0], [50.0, 0.0, 64.0, 64.0]])  # second touches 3 borders
    out = paste_masks(probs, boxes, (64, 64))
    assert out.shape == (2, 64, 64) and out.dtype == torch.bool
    expected = torch.zeros((2, 64, 64), dtype=torch.bool)
    expected[0, 20:40, 10:30] = True
    expected[1, :, 50:] = True
    assert torch.equal(out, expected)


def test_paste_half_mask_and_whole_image_path_agree():
    probs = torch.zeros((1, 28, 28))
    probs[0, :, 14:] = 1.0  # right half of the box
    boxes = torch.tensor([[8.0, 8.0, 40.0, 24.0]])
    out = paste_masks(probs, boxes, (32, 48))
    assert out[0].sum() == 16 * 16 and bool(out[0, 8:24, 24:40].all())
    full = _paste_chunk(probs, boxes, (0, 0, 48, 32))[0] >= 0.5  # the accelerator path: whole image
    assert torch.equal(full, out[0])
    assert paste_masks(torch.zeros((0, 28, 28)), torch.zeros((0, 4)), (5, 6)).shape == (0, 5, 6)


def test_mask_target_crop_equals_full_mask_roi_align():
    from torchvision.ops import roi_align

    gen = torch.Generator().manual_seed(0)
    masks = (torch.rand((3, 80, 96), generator=gen) > 0.5).to(torch.uint8)
    xy = torch.rand(12, 2, generator=gen) * 60 + 5
    proposals = torch.cat([xy, xy + torch.rand(12, 2, generator=gen) * 25 + 1], dim=1)
    proposals[0] = torch.tensor([-3.0, -2.0, 30.0, 20.0])  # outside the image on two sides
    proposals[1] = torch.tensor([70.0, 60.0, 99.0, 85.0])  # outside on the other two
    inds = torch.randint(0, 3, (12,), generator=gen)
    rois = torch.cat([inds[:, None].float(), proposals], dim=1)
    ref = roi_align(masks.float()[:, None], rois, (14, 14), 1.0, 0, True).squeeze(1)
    torch.testing.assert_close(mask_target([proposals], [inds], [masks], 14, binarize=False), ref)
    small = proposals[2:5]
    ref_small = roi_align(masks.float()[:, None], rois[2:5], (14, 14), 1.0, 0, True).squeeze(1)
    torch.testing.assert_close(mask_target([small], [inds[2:5]], [masks], 14, binarize=False), ref_small)
