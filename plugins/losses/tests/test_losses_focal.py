"""FocalLoss and GaussianFocalLoss against values worked out by hand."""
from __future__ import annotations

import math

import pytest
import torch
from segdet_losses import FocalLoss, GaussianFocalLoss


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def _focal(x: float, t: int, gamma: float = 2.0, alpha: float = 0.25) -> float:
    p = _sigmoid(x)
    if t == 1:
        return -alpha * (1 - p) ** gamma * math.log(p)
    return -(1 - alpha) * p**gamma * math.log(1 - p)


def test_focal_by_hand():
    pred = torch.tensor([[0.0, 0.0], [2.0, -1.0]])
    labels = torch.tensor([0, 2])  # 2 = background
    # logit 0, positive: 0.25 * 0.5**2 * log 2; negative: 0.75 * 0.5**2 * log 2
    expected = [math.log(2) * 0.0625, math.log(2) * 0.1875, _focal(2.0, 0), _focal(-1.0, 0)]
    out = FocalLoss(reduction="none")(pred, labels)
    assert out.flatten().tolist() == pytest.approx(expected, rel=1e-5)
    assert FocalLoss()(pred, labels).item() == pytest.approx(sum(expected) / 4, rel=1e-5)
    one_hot = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    assert FocalLoss()(pred, one_hot).item() == pytest.approx(sum(expected) / 4, rel=1e-5)


def test_focal_gamma_alpha_and_activated():
    pred = torch.tensor([[1.5]])
    out = FocalLoss(gamma=1.0, alpha=0.5)(pred, torch.tensor([0])).item()
    assert out == pytest.approx(_focal(1.5, 1, gamma=1.0, alpha=0.5), rel=1e-5)
    prob = torch.sigmoid(pred)
    assert FocalLoss(activated=True)(prob, torch.tensor([0])).item() == pytest.approx(_focal(1.5, 1), rel=1e-4)


def test_focal_weight_and_avg_factor():
    pred = torch.tensor([[0.0, 0.0], [2.0, -1.0]])
    labels = torch.tensor([0, 2])
    elem = FocalLoss(reduction="none")(pred, labels)
    w = torch.tensor([1.0, 0.0])
    out = FocalLoss()(pred, labels, weight=w, avg_factor=1.0)
    assert out.item() == pytest.approx(elem[0].sum().item(), rel=1e-5)
    w2 = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    out = FocalLoss(reduction="sum")(pred, labels, weight=w2)
    assert out.item() == pytest.approx((elem[0, 0] + elem[1, 1]).item(), rel=1e-5)


def test_focal_dense_maps_and_ignore():
    pred = torch.tensor([0.0, 2.0, -1.0, 0.5]).view(1, 1, 2, 2).repeat(1, 2, 1, 1)
    labels = torch.tensor([[[0, 1], [2, 255]]])
    out = FocalLoss(reduction="sum")(pred, labels, ignore_index=255)
    expected = (_focal(0.0, 1) + _focal(0.0, 0)) + (_focal(2.0, 0) + _focal(2.0, 1)) + 2 * _focal(-1.0, 0)
    assert out.item() == pytest.approx(expected, rel=1e-5)


def test_focal_rejects_softmax_and_bad_targets():
    with pytest.raises(ValueError, match="use_sigmoid"):
        FocalLoss(use_sigmoid=False)
    with pytest.raises(ValueError, match="target"):
        FocalLoss()(torch.zeros(2, 3), torch.zeros(2, 4))


def test_gaussian_focal_by_hand():
    pred = torch.tensor([0.8, 0.3, 0.4])
    target = torch.tensor([1.0, 0.5, 0.0])
    pos = -math.log(0.8) * 0.2**2
    neg1 = -math.log(0.7) * 0.3**2 * 0.5**4
    neg2 = -math.log(0.6) * 0.4**2
    out = GaussianFocalLoss(reduction="none")(pred, target)
    assert out.tolist() == pytest.approx([pos, neg1, neg2], rel=1e-5)
    assert GaussianFocalLoss()(pred, target, avg_factor=1.0).item() == pytest.approx(pos + neg1 + neg2, rel=1e-5)
    out = GaussianFocalLoss(alpha=1.0, gamma=1.0, reduction="sum")(pred, target)
    assert out.item() == pytest.approx(-math.log(0.8) * 0.2 - math.log(0.7) * 0.3 * 0.5 - math.log(0.6) * 0.4, rel=1e-5)


def test_focal_negative_labels_are_background():
    pred = torch.tensor([[0.5, -0.5]])
    bg = FocalLoss(reduction="sum")(pred, torch.tensor([2]))
    assert FocalLoss(reduction="sum")(pred, torch.tensor([-1])).item() == pytest.approx(bg.item())
