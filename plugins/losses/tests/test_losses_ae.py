"""AssociativeEmbeddingLoss against hand-computed pull/push values."""
from __future__ import annotations

import pytest
import torch
from segdet_losses.ae_loss import AssociativeEmbeddingLoss, ae_loss_per_image

from segdet.api import build


def _maps() -> tuple[torch.Tensor, torch.Tensor, list[list[list[int]]]]:
    tl = torch.zeros(1, 4, 4)
    br = torch.zeros(1, 4, 4)
    tl[0, 0, 0], br[0, 2, 2] = 1.0, 2.0   # object A: mean 1.5
    tl[0, 1, 0], br[0, 3, 3] = 0.8, 1.2   # object B: mean 1.0
    match = [[[0, 0], [2, 2]], [[1, 0], [3, 3]]]
    return tl, br, match


def test_pull_and_push_by_hand() -> None:
    tl, br, match = _maps()
    pull, push = ae_loss_per_image(tl, br, match)
    # pull: A (1-1.5)^2 + (2-1.5)^2 = 0.5; B 0.2^2 + 0.2^2 = 0.08; mean over 2 objects = 0.29
    assert pull.item() == pytest.approx(0.29, abs=1e-6)
    # push: |1.5 - 1.0| = 0.5 < margin 1 -> relu(1 - 0.5) = 0.5 for each of the 2 ordered pairs,
    # divided by N (N - 1) = 2 -> 0.5
    assert push.item() == pytest.approx(0.5, abs=1e-6)


def test_weights_batch_sum_and_degenerate_images() -> None:
    tl, br, match = _maps()
    loss = AssociativeEmbeddingLoss(pull_weight=0.25, push_weight=0.5)
    pred = torch.stack([tl, tl, tl]).requires_grad_(True)
    target = torch.stack([br, br, br])
    # image 0: both objects; image 1: no object; image 2: only object A (push needs two)
    pull, push = loss(pred, target, [match, [], match[:1]])
    assert pull.item() == pytest.approx(0.25 * (0.29 + 0.0 + 0.5), abs=1e-6)
    assert push.item() == pytest.approx(0.5 * 0.5, abs=1e-6)
    (pull + push).backward()
    assert pred.grad is not None
    # image 0, x = tl_A: pull_A = (x - y)^2 / 2 -> d/dx = (x - y) / N = -1 / 2, times 0.25;
    # push = 2 (1 - (m_A - m_B)) / 2 with m_A = (x + y) / 2 -> d/dx = -1/2, times 0.5
    assert pred.grad[0, 0, 0, 0].item() == pytest.approx(0.25 * -0.5 + 0.5 * -0.5, abs=1e-6)
    assert torch.count_nonzero(pred.grad[1]) == 0


def test_far_apart_objects_have_no_push_and_empty_batch_is_zero() -> None:
    tl, br, match = _maps()
    tl[0, 1, 0], br[0, 3, 3] = -0.2, 0.2   # B's mean 0.0: |1.5 - 0| >= margin
    _, push = ae_loss_per_image(tl, br, match)
    assert push.item() == 0.0
    pull, push = AssociativeEmbeddingLoss()(tl[None], br[None], [[]])
    assert pull.item() == 0.0 and push.item() == 0.0 and pull.requires_grad is False


def test_built_from_the_registry_and_shape_errors() -> None:
    loss = build({"type": "AssociativeEmbeddingLoss", "pull_weight": 0.1, "push_weight": 0.1}, "losses")
    assert isinstance(loss, AssociativeEmbeddingLoss) and loss.pull_weight == 0.1
    with pytest.raises(ValueError, match="same shape"):
        loss(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 5), [[]])
    with pytest.raises(ValueError, match="match lists"):
        loss(torch.zeros(2, 1, 4, 4), torch.zeros(2, 1, 4, 4), [[]])
