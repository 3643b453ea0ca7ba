"""SmoothL1Loss, L1Loss and the IoU family against values worked out by hand."""
from __future__ import annotations

import math

import pytest
import torch
from segdet_losses import CIoULoss, DIoULoss, GIoULoss, IoULoss, L1Loss, SmoothL1Loss

EPS = torch.finfo(torch.float32).eps


def test_smooth_l1_by_hand():
    pred = torch.tensor([0.0, 0.5, 3.0, -2.0])
    target = torch.zeros(4)
    # beta 1: 0.5 d^2 below 1, d - 0.5 above
    assert SmoothL1Loss(reduction="none")(pred, target).tolist() == pytest.approx([0.0, 0.125, 2.5, 1.5])
    assert SmoothL1Loss()(pred, target).item() == pytest.approx(4.125 / 4)
    # beta 2: 0.5 * 0.25 / 2, 3 - 1, 0.5 * 4 / 2 ... d = 2 is not < 2 -> 2 - 1
    assert SmoothL1Loss(beta=2.0, reduction="none")(pred, target).tolist() == pytest.approx([0.0, 0.0625, 2.0, 1.0])
    w = torch.tensor([1.0, 1.0, 0.0, 1.0])
    assert SmoothL1Loss()(pred, target, weight=w, avg_factor=2).item() == pytest.approx(1.625 / (2 + EPS))
    with pytest.raises(ValueError, match="beta"):
        SmoothL1Loss(beta=0.0)


def test_l1_by_hand_and_empty():
    pred = torch.tensor([[1.0, -2.0], [0.5, 0.0]])
    target = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    assert L1Loss()(pred, target).item() == pytest.approx(3.5 / 4)
    assert L1Loss(reduction="sum")(pred, target).item() == pytest.approx(3.5)
    empty = torch.zeros(0, 4, requires_grad=True)
    out = L1Loss()(empty, torch.zeros(0, 4), weight=torch.zeros(0, 4), avg_factor=1.0)
    assert out.item() == 0.0
    out.backward()
    assert SmoothL1Loss()(torch.zeros(0, 4), torch.zeros(0, 4)).item() == 0.0


# pair 0: IoU 50/150 = 1/3, enclosing box 15x10 = union; pair 1: disjoint, enclosing 30x10
PRED = torch.tensor([[0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 10.0]])
TARGET = torch.tensor([[5.0, 0.0, 15.0, 10.0], [20.0, 0.0, 30.0, 10.0]])


def test_iou_loss_modes():
    out = IoULoss(reduction="none")(PRED[:1], TARGET[:1])
    assert out.item() == pytest.approx(math.log(3), rel=1e-5)
    assert IoULoss(mode="linear")(PRED[:1], TARGET[:1]).item() == pytest.approx(2 / 3, rel=1e-5)
    assert IoULoss(linear=True)(PRED[:1], TARGET[:1]).item() == pytest.approx(2 / 3, rel=1e-5)
    assert IoULoss(mode="square")(PRED[:1], TARGET[:1]).item() == pytest.approx(8 / 9, rel=1e-5)
    # disjoint: IoU clamped to eps
    assert IoULoss(reduction="none", eps=1e-6)(PRED, TARGET)[1].item() == pytest.approx(-math.log(1e-6), rel=1e-4)
    with pytest.raises(ValueError, match="mode"):
        IoULoss(mode="cube")


def test_giou_loss():
    out = GIoULoss(reduction="none")(PRED, TARGET)
    # pair 1: GIoU = 0 - (300 - 200) / 300
    assert out.tolist() == pytest.approx([2 / 3, 4 / 3], rel=1e-5)


def test_diou_loss():
    out = DIoULoss(reduction="none")(PRED, TARGET)
    # pair 0: centres 5 apart, enclosing diagonal^2 = 15^2 + 10^2; pair 1: 20 apart, 30^2 + 10^2
    assert out.tolist() == pytest.approx([1 - 1 / 3 + 25 / 325, 1 + 400 / 1000], rel=1e-5)


def test_ciou_loss():
    # equal aspect ratios: CIoU = DIoU
    assert CIoULoss(reduction="none")(PRED, TARGET).tolist() == pytest.approx(
        DIoULoss(reduction="none")(PRED, TARGET).tolist(), rel=1e-5
    )
    pred = torch.tensor([[0.0, 0.0, 10.0, 10.0]])
    target = torch.tensor([[0.0, 0.0, 10.0, 12.0]])
    iou = 100 / 120
    v = 4 / math.pi**2 * (math.atan(10 / 12) - math.atan(1.0)) ** 2
    alpha = v / (1 - iou + v)  # IoU > 0.5
    expected = 1 - (iou - (1 / 244 + alpha * v))  # centres 1 apart, diagonal^2 = 10^2 + 12^2
    assert CIoULoss()(pred, target).item() == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("cls", [IoULoss, GIoULoss, DIoULoss, CIoULoss])
def test_box_loss_weights(cls):
    per_box = cls(reduction="none")(PRED, TARGET)
    w = torch.tensor([1.0, 0.0])
    assert cls()(PRED, TARGET, weight=w, avg_factor=1.0).item() == pytest.approx(per_box[0].item(), rel=1e-5)
    w4 = torch.tensor([[1.0, 1.0, 0.0, 0.0], [0.0] * 4])  # (N, 4) averaged per box
    assert cls(reduction="sum")(PRED, TARGET, weight=w4).item() == pytest.approx(0.5 * per_box[0].item(), rel=1e-5)
    pred = PRED.clone().requires_grad_(True)
    zero = cls()(pred, TARGET, weight=torch.zeros(2))
    assert zero.item() == 0.0
    zero.backward()
    assert pred.grad is not None and pred.grad.abs().sum() == 0
    empty = torch.zeros(0, 4, requires_grad=True)
    out = cls()(empty, torch.zeros(0, 4), weight=torch.zeros(0), avg_factor=1.0)
    assert out.item() == 0.0
    assert cls()(torch.zeros(0, 4), torch.zeros(0, 4)).item() == 0.0
