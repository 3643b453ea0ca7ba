"""BiFPN: shapes (odd sizes too), gradients, non-negative fusion weights, stacking, strides."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from segdet_neck_bifpn import BiFPN
from segdet_neck_bifpn._layers import WeightedFusion, downsample_to

from segdet.api import build


def pyramid(channels: list[int], size: tuple[int, int], batch: int = 2) -> list[torch.Tensor]:
    """Maps as a ResNet or Swin makes them: each level ceil-halves the previous one."""
    h, w = size
    feats = []
    for c in channels:
        feats.append(torch.rand(batch, c, h, w))
        h, w = -(-h // 2), -(-w // 2)
    return feats


@pytest.mark.parametrize("size", [(32, 32), (33, 17), (25, 40), (1, 3)])
def test_output_shapes(size: tuple[int, int]) -> None:
    neck = BiFPN(in_channels=[8, 16, 16], out_channels=16, num_outs=5).eval()
    outs = neck(pyramid([8, 16, 16], size))
    assert len(outs) == 5 and neck.out_channels == [16] * 5
    h, w = size
    for out in outs:
        assert out.shape == (2, 16, h, w)
        h, w = -(-h // 2), -(-w // 2)


def test_start_level_and_strides() -> None:
    neck = BiFPN(in_channels=[4, 8, 16, 32], out_channels=8, start_level=1, num_outs=5)
    assert neck.strides == [8, 16, 32, 64, 128]
    outs = neck(pyramid([4, 8, 16, 32], (64, 64)))
    assert [o.shape[-1] for o in outs] == [32, 16, 8, 4, 2]
    swin_like = BiFPN(in_channels=[8, 16], out_channels=8, num_outs=3, in_strides=[16, 32])
    assert swin_like.strides == [16, 32, 64]
    with pytest.raises(ValueError, match="double"):
        BiFPN(in_channels=[8, 16], out_channels=8, in_strides=[8, 32])
    with pytest.raises(ValueError, match="num_outs"):
        BiFPN(in_channels=[8, 16, 32], out_channels=8, num_outs=2)


def test_gradients_reach_every_parameter() -> None:
    neck = BiFPN(in_channels=[8, 12, 16], out_channels=16, num_outs=5, num_repeats=2)
    feats = [f.requires_grad_() for f in pyramid([8, 12, 16], (30, 22))]
    sum(o.square().mean() for o in neck(feats)).backward()
    missing = [n for n, p in neck.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert missing == []
    assert all(f.grad is not None for f in feats)


def test_adapters_only_where_widths_differ() -> None:
    neck = BiFPN(in_channels=[8, 16, 32], out_channels=16, num_outs=4)
    kinds = [type(m).__name__ for m in neck.lateral_convs]
    assert kinds == ["ConvModule", "Identity", "ConvModule"]
    assert type(neck.extra_convs[0]).__name__ == "ConvModule"
    assert type(BiFPN(in_channels=[16, 16], out_channels=16, num_outs=3).extra_convs[0]).__name__ == "Identity"


def test_fusion_weights_stay_non_negative() -> None:
    fusion = WeightedFusion(3)
    with torch.no_grad():
        fusion.weight.copy_(torch.tensor([-2.0, 1.0, 3.0]))
    w = fusion.normalized_weights()
    assert (w >= 0).all() and w[0] == 0
    assert torch.allclose(w.sum(), torch.tensor(4.0 / (4.0 + 1e-4)))
    x = torch.ones(1, 1, 2, 2)
    assert torch.allclose(fusion([x, 2 * x, 3 * x]), (1 * 2 + 3 * 3) / (4 + 1e-4) * x)

    # whatever values an optimiser leaves in the raw weights, the effective ones stay >= 0
    torch.manual_seed(0)
    neck = BiFPN(in_channels=[8, 8], out_channels=8, num_outs=3)
    with torch.no_grad():
        for m in neck.modules():
            if isinstance(m, WeightedFusion):
                m.weight.uniform_(-1.0, 1.0)
    raw = torch.cat([m.weight.detach() for m in neck.modules() if isinstance(m, WeightedFusion)])
    effective = torch.cat(list(neck.fusion_weights().values())).detach()
    assert (raw < 0).any() and (effective >= 0).all()
    assert torch.equal(effective == 0, raw <= 0)
    outs = neck(pyramid([8, 8], (16, 16)))
    assert all(torch.isfinite(o).all() for o in outs)
    sum(o.square().sum() for o in outs).backward()
    grads = torch.cat([m.weight.grad for m in neck.modules() if isinstance(m, WeightedFusion)])
    assert (grads[raw < 0] == 0).all()  # a weight clipped by the ReLU gets no gradient


def test_num_repeats_stacks_layers() -> None:
    one = BiFPN(in_channels=[8, 16], out_channels=8, num_outs=3, num_repeats=1)
    three = BiFPN(in_channels=[8, 16], out_channels=8, num_outs=3, num_repeats=3)
    assert len(one.layers) == 1 and len(three.layers) == 3
    per_layer = sum(p.numel() for p in three.layers[0].parameters())
    total = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert total(three) - total(one) == 2 * per_layer
    # the stacked layers are applied in turn: dropping the last two gives one's result
    three.load_state_dict(one.state_dict(), strict=False)
    three.eval(), one.eval()
    feats = pyramid([8, 16], (16, 16))
    expected = three.layers[2](three.layers[1](list(one(feats))))
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(three(feats), expected))


def test_downsample_is_same_padded_max_pool() -> None:
    x = torch.arange(16.0).view(1, 1, 4, 4)
    # 'same' padding for an even map pads one row/column at the bottom/right only
    expected = F.max_pool2d(F.pad(x, (0, 1, 0, 1), value=float("-inf")), 3, 2)
    assert torch.equal(downsample_to(x, (2, 2)), expected)
    assert downsample_to(torch.rand(1, 1, 7, 5), (4, 3)).shape[-2:] == (4, 3)


def test_build_with_channels_from_a_swin_backbone() -> None:
    pytest.importorskip("segdet_backbone_swin")
    from segdet.api import build_downstream
    backbone = build(dict(type="SwinTransformer", embed_dims=8, depths=(1, 1, 1, 1),
                          num_heads=(1, 1, 2, 2), window_size=4), "backbones")
    neck = build_downstream(dict(type="BiFPN", out_channels=16, start_level=1, num_outs=5,
                                 in_strides=backbone.strides), "necks", backbone)
    assert neck.in_channels == [8, 16, 32, 64]
    outs = neck(backbone(torch.rand(2, 3, 52, 44)))
    assert [o.shape[-2:] for o in outs] == [(7, 6), (4, 3), (2, 2), (1, 1), (1, 1)]
    assert neck.strides == [8, 16, 32, 64, 128]


def test_no_extra_levels_when_num_outs_equals_inputs() -> None:
    neck = BiFPN(in_channels=[8, 16, 32], out_channels=8, num_outs=3, norm_cfg=None)
    assert len(neck.extra_convs) == 0 and neck.strides == [4, 8, 16]
    outs = neck(pyramid([8, 16, 32], (20, 12)))
    assert [tuple(o.shape[-2:]) for o in outs] == [(20, 12), (10, 6), (5, 3)]
