"""bbox_overlaps against hand-computed IoU, IoF and GIoU."""
from __future__ import annotations

import pytest
import torch

from segdet.ops import bbox_overlaps

A = torch.tensor([[0.0, 0.0, 10.0, 10.0], [10.0, 10.0, 20.0, 20.0]])
B = torch.tensor([[5.0, 0.0, 15.0, 10.0], [0.0, 0.0, 10.0, 10.0], [30.0, 30.0, 40.0, 40.0]])


def test_iou_pairwise_by_hand():
    expected = torch.tensor([[50 / 150, 1.0, 0.0], [0.0, 0.0, 0.0]])
    assert torch.allclose(bbox_overlaps(A, B), expected)


def test_iof_is_over_first_area():
    assert torch.allclose(bbox_overlaps(A, B, mode="iof")[0], torch.tensor([0.5, 1.0, 0.0]))


def test_giou_by_hand():
    # A0 vs B2: IoU 0, enclosing box 40x40 = 1600, union 200: giou = -(1600-200)/1600
    g = bbox_overlaps(A, B, mode="giou")
    assert g[0, 2].item() == pytest.approx(-1400 / 1600)
    # A0 vs B0: enclosing 15x10 = 150 = union, so giou = iou
    assert g[0, 0].item() == pytest.approx(50 / 150)


def test_aligned_and_batched():
    aligned = bbox_overlaps(A, B[:2], is_aligned=True)
    assert torch.allclose(aligned, torch.tensor([50 / 150, 0.0]))
    batched = bbox_overlaps(A[None].repeat(3, 1, 1), B[None].repeat(3, 1, 1))
    assert batched.shape == (3, 2, 3)
    assert torch.allclose(batched[2], bbox_overlaps(A, B))
    giou_aligned = bbox_overlaps(A, B[:2], mode="giou", is_aligned=True)
    assert torch.allclose(giou_aligned, bbox_overlaps(A, B[:2], mode="giou").diagonal())


def test_empty_shapes():
    assert bbox_overlaps(A[:0], B).shape == (0, 3)
    assert bbox_overlaps(A, B[:0]).shape == (2, 0)
    assert bbox_overlaps(A[:0], B[:0], is_aligned=True).shape == (0,)
    assert bbox_overlaps(torch.zeros(2, 0, 4), torch.zeros(2, 5, 4)).shape == (2, 0, 5)


def test_bad_mode_and_gradients():
    with pytest.raises(ValueError, match="mode"):
        bbox_overlaps(A, B, mode="dice")
    a = A.clone().requires_grad_(True)
    bbox_overlaps(a, B, mode="giou").sum().backward()
    assert a.grad is not None and torch.isfinite(a.grad).all()
