"""DiceLoss in MMDetection's and MMSegmentation's forms, by hand."""
from __future__ import annotations

import math

import pytest
import torch
from segdet_losses import DiceLoss


def test_mmdet_form_by_hand():
    prob = torch.tensor([[0.5, 1.0, 0.0, 0.5]])
    target = torch.tensor([[1.0, 1.0, 0.0, 0.0]])
    eps = 1e-3
    # a = 1.5; sum p^2 = 1.5; sum t^2 = 2
    expected = 1 - 3 / (1.5 + eps + 2 + eps)
    assert DiceLoss(activate=False)(prob, target).item() == pytest.approx(expected, rel=1e-5)
    naive = 1 - (3 + eps) / (2 + 2 + eps)
    assert DiceLoss(activate=False, naive_dice=True)(prob, target).item() == pytest.approx(naive, rel=1e-5)
    logits = torch.tensor([[0.0, 20.0, -20.0, 0.0]])
    assert DiceLoss()(logits, target).item() == pytest.approx(expected, rel=1e-4)


def test_mmdet_form_per_sample_weight():
    prob = torch.tensor([[0.5, 1.0], [1.0, 1.0]]).view(2, 1, 2)
    target = torch.tensor([[1.0, 0.0], [1.0, 1.0]]).view(2, 1, 2)
    per = DiceLoss(activate=False, reduction="none")(prob, target)
    assert per.shape == (2,)
    # sample 1: 2 * 2 / ((2 + eps) + (2 + eps))
    assert per[1].item() == pytest.approx(1 - 4 / (2.001 + 2.001), abs=1e-6)
    out = DiceLoss(activate=False)(prob, target, weight=torch.tensor([1.0, 0.0]), avg_factor=1.0)
    assert out.item() == pytest.approx(per[0].item(), rel=1e-5)
    with pytest.raises(ValueError, match="weight"):
        DiceLoss(activate=False)(prob, target, weight=torch.ones(2, 2))


# logits class 0: (0, log 3), class 1: (0, 0) -> probs class 0: (0.5, 0.75), class 1: (0.5, 0.25)
SEG_LOGITS = torch.tensor([[0.0, math.log(3)], [0.0, 0.0]]).view(1, 2, 1, 2)


def test_mmseg_form_by_hand():
    labels = torch.tensor([[[0, 1]]])
    loss0 = 1 - (2 * 0.5 + 1) / ((0.25 + 0.5625) + 1 + 1)
    loss1 = 1 - (2 * 0.25 + 1) / ((0.25 + 0.0625) + 1 + 1)
    out = DiceLoss()(SEG_LOGITS, labels)
    assert out.item() == pytest.approx((loss0 + loss1) / 2, rel=1e-5)
    weighted = DiceLoss(class_weight=[2.0, 0.0])(SEG_LOGITS, labels)
    assert weighted.item() == pytest.approx(loss0, rel=1e-5)
    assert DiceLoss(exponent=1, smooth=0)(SEG_LOGITS, labels).item() == pytest.approx(
        ((1 - 1 / 2.25) + (1 - 0.5 / 1.75)) / 2, rel=1e-5
    )


def test_mmseg_form_ignore_index():
    labels = torch.tensor([[[0, 255]]])
    # The ignored pixel leaves the numerator; its label is clamped to class 1 in the one-hot,
    # which (as in MMSegmentation) still counts in the denominator.
    loss0 = 1 - (2 * 0.5 + 1) / ((0.25 + 0.5625) + 1 + 1)
    loss1 = 1 - 1 / ((0.25 + 0.0625) + 1 + 1)
    assert DiceLoss()(SEG_LOGITS, labels).item() == pytest.approx((loss0 + loss1) / 2, rel=1e-5)
    relabelled = torch.tensor([[[0, 7]]])
    assert DiceLoss()(SEG_LOGITS, relabelled, ignore_index=7).item() == pytest.approx((loss0 + loss1) / 2, rel=1e-5)


def test_mmseg_form_gradients():
    logits = torch.randn(2, 3, 4, 4, requires_grad=True)
    labels = torch.randint(0, 3, (2, 4, 4))
    labels[0, 0, 0] = 255
    loss = DiceLoss(loss_name="loss_d")(logits, labels)
    loss.backward()
    assert torch.isfinite(logits.grad).all() and logits.grad.abs().sum() > 0
    assert DiceLoss(loss_name="loss_d").loss_name == "loss_d"
    assert DiceLoss(reduction="none")(logits.detach(), labels).shape == (2,)
