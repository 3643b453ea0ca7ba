"""CrossEntropyLoss in its softmax, segmentation, sigmoid and mask forms, by hand."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from segdet_losses import CrossEntropyLoss


def _ce(logits: list[float], label: int) -> float:
    return math.log(sum(math.exp(v) for v in logits)) - logits[label]


def test_softmax_by_hand():
    pred = torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    label = torch.tensor([2, 0])
    l0, l1 = _ce([1, 2, 3], 2), math.log(3)
    assert CrossEntropyLoss()(pred, label).item() == pytest.approx((l0 + l1) / 2, rel=1e-6)
    assert CrossEntropyLoss(reduction="none")(pred, label).tolist() == pytest.approx([l0, l1], rel=1e-6)
    w = torch.tensor([2.0, 0.0])
    assert CrossEntropyLoss()(pred, label, weight=w, avg_factor=1.0).item() == pytest.approx(2 * l0, rel=1e-5)
    cw = CrossEntropyLoss(class_weight=[1.0, 1.0, 3.0], reduction="none")(pred, label)
    assert cw.tolist() == pytest.approx([3 * l0, l1], rel=1e-6)
    assert CrossEntropyLoss(loss_name="loss_cls").loss_name == "loss_cls"


def test_softmax_ignore_index_default_and_override():
    pred = torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    l0 = _ce([1, 2, 3], 2)
    label = torch.tensor([2, -100])
    assert CrossEntropyLoss()(pred, label).item() == pytest.approx(l0 / 2, rel=1e-6)
    assert CrossEntropyLoss(avg_non_ignore=True)(pred, label).item() == pytest.approx(l0, rel=1e-6)
    label = torch.tensor([2, 1])
    assert CrossEntropyLoss()(pred, label, ignore_index=1).item() == pytest.approx(l0 / 2, rel=1e-6)
    assert CrossEntropyLoss(ignore_index=1, avg_non_ignore=True)(pred, label).item() == pytest.approx(l0, rel=1e-6)


def test_segmentation_maps_with_255():
    # pixel 0: logits (0, log 3) label 1 -> -log(3/4); pixel 1 ignored
    pred = torch.tensor([[0.0, 5.0], [math.log(3), -5.0]]).view(1, 2, 1, 2)
    seg = torch.tensor([[[1, 255]]])
    l0 = -math.log(0.75)
    assert CrossEntropyLoss(ignore_index=255)(pred, seg).item() == pytest.approx(l0 / 2, rel=1e-5)
    out = CrossEntropyLoss(avg_non_ignore=True)(pred, seg, ignore_index=255)
    assert out.item() == pytest.approx(l0, rel=1e-5)
    pix_w = torch.tensor([[[3.0, 1.0]]])
    out = CrossEntropyLoss(reduction="sum")(pred, seg, weight=pix_w, ignore_index=255)
    assert out.item() == pytest.approx(3 * l0, rel=1e-5)


def test_sigmoid_by_hand():
    pred = torch.tensor([[0.0, 0.0], [2.0, -1.0]])
    label = torch.tensor([0, 2])  # label 2 = background: all-zero row
    sp = lambda x: math.log(1 + math.exp(x))  # noqa: E731  softplus: BCE of target 0 is softplus(x)
    elems = [math.log(2), math.log(2), sp(2.0), sp(-1.0)]
    assert CrossEntropyLoss(use_sigmoid=True)(pred, label).item() == pytest.approx(sum(elems) / 4, rel=1e-5)
    same = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    assert CrossEntropyLoss(use_sigmoid=True)(pred, same).item() == pytest.approx(sum(elems) / 4, rel=1e-5)
    ignored = torch.tensor([0, -100])
    assert CrossEntropyLoss(use_sigmoid=True)(pred, ignored).item() == pytest.approx(2 * math.log(2) / 4, rel=1e-5)
    out = CrossEntropyLoss(use_sigmoid=True, avg_non_ignore=True)(pred, ignored)
    assert out.item() == pytest.approx(math.log(2), rel=1e-5)
    w = torch.tensor([0.0, 1.0])
    out = CrossEntropyLoss(use_sigmoid=True, reduction="sum")(pred, label, weight=w)
    assert out.item() == pytest.approx(sp(2.0) + sp(-1.0), rel=1e-5)


def test_mask_form():
    torch.manual_seed(0)
    pred = torch.randn(2, 3, 4, 4)
    target = (torch.rand(2, 4, 4) > 0.5).float()
    labels = torch.tensor([1, 2])
    expected = F.binary_cross_entropy_with_logits(torch.stack([pred[0, 1], pred[1, 2]]), target)
    out = CrossEntropyLoss(use_mask=True)(pred, target, labels)
    assert out.shape == (1,) and out.item() == pytest.approx(expected.item(), rel=1e-6)
    with pytest.raises(ValueError, match="labels"):
        CrossEntropyLoss(use_mask=True)(pred, target)
    with pytest.raises(ValueError, match="both"):
        CrossEntropyLoss(use_sigmoid=True, use_mask=True)


def test_sigmoid_soft_targets_like_fcos_centerness():
    pred = torch.tensor([0.0, 2.0])
    target = torch.tensor([0.5, 1.0])
    # BCE(x, t) = softplus(x) - t * x
    expected = (math.log(2) - 0.0) + (math.log(1 + math.exp(2.0)) - 2.0)
    out = CrossEntropyLoss(use_sigmoid=True)(pred, target, avg_factor=2.0)
    assert out.item() == pytest.approx(expected / 2, rel=1e-5)
