"""``seg_accuracy``: the training log's ``acc_seg`` (top-1 pixel accuracy over non-ignored pixels)."""
from __future__ import annotations

import torch

from segdet.models.decode_heads.decode_head_base import seg_accuracy


def test_accuracy_counts_only_pixels_that_are_not_ignored() -> None:
    logit = torch.zeros(1, 3, 2, 2)
    logit[0, 2, 0, 0] = 1.0  # predicts 2
    logit[0, 1, 0, 1] = 1.0  # predicts 1
    logit[0, 0, 1, 0] = 1.0  # predicts 0
    logit[0, 2, 1, 1] = 1.0  # predicts 2
    label = torch.tensor([[[2, 0], [0, 255]]])
    assert abs(seg_accuracy(logit, label, ignore_index=255).item() - 200.0 / 3) < 1e-4  # 2 of 3 valid right
    assert seg_accuracy(logit, torch.full_like(label, 255), ignore_index=255).item() == 0.0


def test_ties_go_to_the_first_class_as_argmax_does() -> None:
    generator = torch.Generator().manual_seed(0)
    # values on a coarse grid so that many pixels have tied maxima
    logit = torch.randint(0, 3, (2, 5, 9, 7), generator=generator).float()
    label = torch.randint(0, 5, (2, 9, 7), generator=generator)
    expected = (logit.argmax(dim=1) == label).float().mean() * 100
    assert torch.allclose(seg_accuracy(logit, label), expected.reshape(1))
