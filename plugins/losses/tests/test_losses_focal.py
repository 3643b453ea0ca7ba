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


@pytest.mark.parametrize("weight_kind", ["none", "rows", "elements"])
def test_focal_label_fast_path_matches_composite_formula(weight_kind):
    """The reduced loss against labels (the fused path anchor heads use) equals the element-wise
    formula on a one-hot target, in value and gradient, with weights and ignored rows."""
    from segdet_losses.focal_loss import sigmoid_focal_loss

    gen = torch.Generator().manual_seed(0)
    pred = (torch.randn(40, 5, generator=gen, dtype=torch.float64) * 3).requires_grad_()
    labels = torch.randint(0, 8, (40,), generator=gen)  # 5, 6, 7: background; 7 also ignored below
    weight = {"none": None, "rows": torch.rand(40, generator=gen, dtype=torch.float64),
              "elements": torch.rand(40, 5, generator=gen, dtype=torch.float64)}[weight_kind]
    loss = FocalLoss(gamma=1.5, alpha=0.3)(pred, labels, weight=weight, avg_factor=7.0, ignore_index=7)
    (grad,) = torch.autograd.grad(loss, pred)

    ref_pred = pred.detach().clone().requires_grad_()
    one_hot = torch.nn.functional.one_hot(labels.clamp(max=5), 6)[:, :5].double()
    elem = sigmoid_focal_loss(ref_pred, one_hot, gamma=1.5, alpha=0.3) * (labels != 7).double()[:, None]
    if weight is not None:
        elem = elem * (weight[:, None] if weight.dim() == 1 else weight)
    ref = elem.sum() / (7.0 + torch.finfo(torch.float32).eps)
    (ref_grad,) = torch.autograd.grad(ref, ref_pred)
    assert loss.item() == pytest.approx(ref.item(), rel=1e-10)
    torch.testing.assert_close(grad, ref_grad, rtol=1e-9, atol=1e-12)
    assert torch.autograd.gradcheck(
        lambda p: FocalLoss(gamma=1.5, alpha=0.3)(p, labels, weight=weight, reduction_override="sum"),
        (pred.detach().clone().requires_grad_(),))


def test_focal_label_fast_path_mean_and_empty():
    pred = torch.zeros(0, 3, requires_grad=True)
    out = FocalLoss()(pred, torch.zeros(0, dtype=torch.long))
    out.backward()
    assert out.item() == 0.0 and pred.grad is not None and pred.grad.shape == (0, 3)
    pred = torch.tensor([[0.0, 2.0], [-1.0, 0.5]])
    labels = torch.tensor([1, 2])
    expected = (_focal(0.0, 0) + _focal(2.0, 1) + _focal(-1.0, 0) + _focal(0.5, 0)) / 4
    assert FocalLoss()(pred, labels).item() == pytest.approx(expected, rel=1e-6)
