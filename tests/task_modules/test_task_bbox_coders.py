"""DeltaXYWHBBoxCoder and DistancePointBBoxCoder: hand values and round trips."""
from __future__ import annotations

import math

import pytest
import torch

from segdet.models.task_modules import DeltaXYWHBBoxCoder, DistancePointBBoxCoder

PRIORS = torch.tensor([[0.0, 0.0, 10.0, 10.0], [5.0, 5.0, 15.0, 25.0]])
GTS = torch.tensor([[1.0, 2.0, 12.0, 9.0], [0.0, 0.0, 20.0, 20.0]])


def test_delta_encode_by_hand():
    coder = DeltaXYWHBBoxCoder(target_stds=(0.1, 0.1, 0.2, 0.2))
    d = coder.encode(PRIORS, GTS)
    # prior 0: centre (5, 5), size 10x10; gt 0: centre (6.5, 5.5), size 11x7
    expected0 = [0.15 / 0.1, 0.05 / 0.1, math.log(1.1) / 0.2, math.log(0.7) / 0.2]
    assert d[0].tolist() == pytest.approx(expected0, rel=1e-5)
    assert coder.encode_size == 4


@pytest.mark.parametrize("means,stds", [((0, 0, 0, 0), (1, 1, 1, 1)), ((0.1, -0.2, 0, 0.3), (0.1, 0.1, 0.2, 0.2))])
def test_delta_round_trip(means, stds):
    coder = DeltaXYWHBBoxCoder(target_means=means, target_stds=stds)
    assert torch.allclose(coder.decode(PRIORS, coder.encode(PRIORS, GTS)), GTS, atol=1e-4)
    batch_p, batch_g = PRIORS[None].repeat(2, 1, 1), GTS[None].repeat(2, 1, 1)
    assert torch.allclose(coder.decode(batch_p, coder.encode(batch_p, batch_g)), batch_g, atol=1e-4)


def test_delta_decode_clamps_and_clips():
    coder = DeltaXYWHBBoxCoder()
    big = torch.tensor([[0.0, 0.0, 10.0, 0.0]])
    out = coder.decode(PRIORS[:1], big)
    # dw clamped to log(1000/16): width 10 * 62.5 = 625, centred at 5
    assert out[0].tolist() == pytest.approx([5 - 312.5, 0.0, 5 + 312.5, 10.0], rel=1e-5)
    clipped = coder.decode(PRIORS[:1], big, max_shape=(8, 100, 3))
    assert clipped[0].tolist() == pytest.approx([0.0, 0.0, 100.0, 8.0])
    assert DeltaXYWHBBoxCoder(clip_border=False).decode(PRIORS[:1], big, max_shape=(8, 100))[0, 2] > 100
    ctr = DeltaXYWHBBoxCoder(add_ctr_clamp=True, ctr_clamp=2).decode(PRIORS[:1], torch.tensor([[1.0, 0, 0, 0]]))
    assert ctr[0].tolist() == pytest.approx([2.0, 0.0, 12.0, 10.0])


def test_delta_decode_per_class_and_batch_shapes():
    coder = DeltaXYWHBBoxCoder()
    deltas = torch.zeros(2, 8)
    out = coder.decode(PRIORS, deltas)
    assert out.shape == (2, 8) and torch.equal(out[:, 4:], PRIORS)
    out = coder.decode(PRIORS[None].repeat(2, 1, 1), torch.zeros(2, 2, 4), max_shape=[(5, 5), (100, 100)])
    assert out[0, 1].tolist() == [5.0, 5.0, 5.0, 5.0] and torch.equal(out[1], PRIORS)
    assert coder.decode(PRIORS[:0], torch.zeros(0, 4)).shape == (0, 4)


def test_delta_gradients_flow():
    deltas = torch.zeros(2, 4, requires_grad=True)
    DeltaXYWHBBoxCoder().decode(PRIORS, deltas).sum().backward()
    assert deltas.grad is not None and deltas.grad.abs().sum() > 0


def test_distance_coder_by_hand_and_round_trip():
    coder = DistancePointBBoxCoder()
    points = torch.tensor([[5.0, 4.0], [2.0, 2.0]])
    d = coder.encode(points, GTS)
    assert d[0].tolist() == [4.0, 2.0, 7.0, 5.0]
    assert torch.equal(coder.decode(points, d), GTS)
    assert coder.encode(points, GTS, max_dis=6.0)[0].tolist() == pytest.approx([4.0, 2.0, 5.9, 5.0])
    assert coder.decode(points, d, max_shape=(8, 10))[0].tolist() == [1.0, 2.0, 10.0, 8.0]
    assert DistancePointBBoxCoder(clip_border=False).decode(points, d, max_shape=(8, 10))[0, 2] == 12.0
    assert coder.decode(points[None], d[None]).shape == (1, 2, 4)
