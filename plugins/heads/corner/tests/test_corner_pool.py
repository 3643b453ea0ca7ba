"""Corner pooling written with torch.cummax equals the naive definition, on every direction."""
from __future__ import annotations

import pytest
import torch
from segdet_head_corner.corner_pool import BiCornerPool, CornerPool, corner_pool


def _naive(x: torch.Tensor, direction: str) -> torch.Tensor:
    """out[..., i, j] = max of x over the ray from (i, j) towards ``direction``'s far side."""
    _, _, h, w = x.shape
    out = torch.empty_like(x)
    for i in range(h):
        for j in range(w):
            if direction == "top":      # itself and everything below
                ray = x[:, :, i:, j]
            elif direction == "bottom":  # itself and everything above
                ray = x[:, :, :i + 1, j]
            elif direction == "left":   # itself and everything to the right
                ray = x[:, :, i, j:]
            else:                       # right: itself and everything to the left
                ray = x[:, :, i, :j + 1]
            out[:, :, i, j] = ray.max(dim=-1).values
    return out


@pytest.mark.parametrize("direction", ["top", "left", "bottom", "right"])
def test_corner_pool_equals_naive_loop(direction: str) -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 7, 9, generator=gen)
    torch.testing.assert_close(corner_pool(x, direction), _naive(x, direction), rtol=0, atol=0)
    torch.testing.assert_close(CornerPool(direction)(x), _naive(x, direction), rtol=0, atol=0)


def test_corner_pool_hand_example_and_gradient() -> None:
    x = torch.tensor([[[[1.0, 3.0, 2.0], [0.0, 5.0, 4.0]]]], requires_grad=True)
    assert corner_pool(x, "left").tolist() == [[[[3.0, 3.0, 2.0], [5.0, 5.0, 4.0]]]]
    assert corner_pool(x, "right").tolist() == [[[[1.0, 3.0, 3.0], [0.0, 5.0, 5.0]]]]
    assert corner_pool(x, "top").tolist() == [[[[1.0, 5.0, 4.0], [0.0, 5.0, 4.0]]]]
    corner_pool(x, "left").sum().backward()
    # the gradient goes to the maxima each output position picked: 3 twice, 2, 5 twice, 4
    assert x.grad is not None
    assert x.grad.tolist() == [[[[0.0, 2.0, 1.0], [0.0, 2.0, 1.0]]]]


def test_unknown_direction_is_refused() -> None:
    with pytest.raises(ValueError, match="direction must be one of"):
        corner_pool(torch.zeros(1, 1, 2, 2), "up")
    with pytest.raises(ValueError, match="mode must be one of"):
        CornerPool("diagonal")


def test_bicornerpool_shapes_names_and_gradient() -> None:
    torch.manual_seed(0)
    pool = BiCornerPool(8, ("top", "left"), feat_channels=4, out_channels=8)
    keys = {k.split(".")[0] for k in pool.state_dict()}
    assert keys == {"direction1_conv", "direction2_conv", "aftpool_conv", "conv1", "conv2"}
    x = torch.randn(2, 8, 16, 16, requires_grad=True)
    y = pool(x)
    assert y.shape == (2, 8, 16, 16)
    y.mean().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    assert pool.direction1_conv.conv.weight.grad is not None
