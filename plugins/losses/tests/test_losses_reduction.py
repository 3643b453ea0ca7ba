"""weight_reduce_loss semantics and the shared forward contract of every loss."""
from __future__ import annotations

import pytest
import torch
from segdet_losses.utils import reduce_loss, weight_reduce_loss

from segdet.api import build

EPS = torch.finfo(torch.float32).eps


def test_weight_reduce_loss_semantics():
    loss = torch.tensor([1.0, 2.0, 3.0, 4.0])
    w = torch.tensor([1.0, 0.0, 1.0, 0.5])
    assert weight_reduce_loss(loss, w, "none").tolist() == [1.0, 0.0, 3.0, 2.0]
    assert weight_reduce_loss(loss, w, "sum").item() == 6.0
    assert weight_reduce_loss(loss, w, "mean").item() == 1.5
    assert weight_reduce_loss(loss, w, "mean", avg_factor=3).item() == pytest.approx(6.0 / (3 + EPS))
    assert weight_reduce_loss(loss, None, "none", avg_factor=3).tolist() == loss.tolist()
    with pytest.raises(ValueError, match="avg_factor"):
        weight_reduce_loss(loss, w, "sum", avg_factor=3)


def test_mean_of_empty_is_zero():
    empty = torch.zeros(0, requires_grad=True)
    out = reduce_loss(empty, "mean")
    assert out.item() == 0.0 and out.requires_grad


BOX_P = torch.tensor([[0.0, 0.0, 10.0, 10.0], [2.0, 2.0, 8.0, 12.0]])
BOX_T = torch.tensor([[1.0, 1.0, 11.0, 9.0], [0.0, 0.0, 10.0, 10.0]])


def _case(name: str) -> tuple[dict, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    if name == "FocalLoss":
        return {}, torch.randn(2, 3), torch.tensor([0, 3])
    if name == "CrossEntropyLoss":
        return {}, torch.randn(2, 3), torch.tensor([0, 2])
    if name in ("SmoothL1Loss", "L1Loss"):
        return {}, torch.randn(2, 4), torch.randn(2, 4)
    if name in ("IoULoss", "GIoULoss", "DIoULoss", "CIoULoss"):
        return {}, BOX_P.clone(), BOX_T
    if name == "DiceLoss":
        return {}, torch.randn(2, 6), (torch.rand(2, 6) > 0.5).float()
    if name == "GaussianFocalLoss":
        return {}, torch.rand(2, 5) * 0.8 + 0.1, torch.tensor([[1.0, 0.5, 0.2, 0.0, 0.1]] * 2)
    raise AssertionError(name)


ALL = ["FocalLoss", "CrossEntropyLoss", "SmoothL1Loss", "L1Loss", "IoULoss", "GIoULoss",
       "DIoULoss", "CIoULoss", "DiceLoss", "GaussianFocalLoss"]


@pytest.mark.parametrize("name", ALL)
def test_every_loss_gradients_reduction_and_loss_weight(name):
    kwargs, pred, target = _case(name)
    loss_fn = build(dict(type=name, **kwargs), "losses")
    pred = pred.requires_grad_(True)
    out = loss_fn(pred, target)
    assert out.dim() == 0 and torch.isfinite(out)
    out.backward()
    assert pred.grad is not None and torch.isfinite(pred.grad).all() and pred.grad.abs().sum() > 0
    with torch.no_grad():
        none = loss_fn(pred, target, reduction_override="none")
        total = loss_fn(pred, target, reduction_override="sum")
        assert none.shape[0] == 2
        assert total.item() == pytest.approx(none.sum().item(), rel=1e-5)
        # avg_factor with mean: sum / avg_factor
        assert loss_fn(pred, target, avg_factor=4.0).item() == pytest.approx(total.item() / 4.0, rel=1e-5)
        doubled = build(dict(type=name, loss_weight=2.0, **kwargs), "losses")
        assert doubled(pred, target).item() == pytest.approx(2 * out.item(), rel=1e-5)
        with pytest.raises(ValueError, match="reduction"):
            loss_fn(pred, target, reduction_override="avg")
    with pytest.raises(ValueError, match="reduction"):
        build(dict(type=name, reduction="avg", **kwargs), "losses")
