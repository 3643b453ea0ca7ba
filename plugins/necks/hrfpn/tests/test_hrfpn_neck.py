"""HRFPN: concatenation of upsampled branches, reduction, pooled pyramid; MMDetection's keys."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from segdet_neck_hrfpn import HRFPN

from segdet import Config
from segdet.api import build

ROOT = Path(__file__).resolve().parents[4]
CH = [4, 8, 16, 16]


def _inputs(h: int = 32, w: int = 32, batch: int = 2) -> list[torch.Tensor]:
    return [torch.rand(batch, c, -(-h // 2**i), -(-w // 2**i)) for i, c in enumerate(CH)]


def test_output_levels_keys_and_strides() -> None:
    neck = HRFPN(CH, 8, num_outs=5)
    assert sorted(neck.state_dict()) == sorted(
        ["reduction_conv.conv.weight", "reduction_conv.conv.bias"]
        + [f"fpn_convs.{i}.conv.{p}" for i in range(5) for p in ("weight", "bias")])
    assert neck.reduction_conv.conv.weight.shape == (8, sum(CH), 1, 1)
    assert neck.out_channels == [8] * 5 and neck.strides == [4, 8, 16, 32, 64]
    outs = neck(_inputs())
    assert [tuple(o.shape) for o in outs] == [(2, 8, 32 // 2**i, 32 // 2**i) for i in range(5)]


def test_forward_is_concat_reduce_then_pool() -> None:
    torch.manual_seed(0)
    neck = HRFPN(CH, 8, num_outs=3, pooling_type="MAX").eval()
    x = _inputs(16, 16)
    ups = [x[0]] + [F.interpolate(t, scale_factor=2**i, mode="bilinear") for i, t in enumerate(x) if i > 0]
    reduced = neck.reduction_conv(torch.cat(ups, dim=1))
    expected = [neck.fpn_convs[i](F.max_pool2d(reduced, 2**i, 2**i) if i else reduced) for i in range(3)]
    for got, want in zip(neck(x), expected):
        assert torch.allclose(got, want, atol=1e-6)


def test_stride_two_odd_sizes_and_in_strides() -> None:
    neck = HRFPN(CH, 8, num_outs=5, stride=2, in_strides=[4, 8, 16, 32])
    assert neck.strides == [8, 16, 32, 64, 128]
    outs = neck(_inputs(33, 45))
    assert [tuple(o.shape[-2:]) for o in outs] == [(17, 23), (8, 11), (4, 6), (2, 3), (1, 1)]


def test_with_cp_matches_and_gradients_flow() -> None:
    torch.manual_seed(0)
    plain, ckpt = HRFPN(CH, 8), HRFPN(CH, 8, with_cp=True)
    ckpt.load_state_dict(plain.state_dict())
    xa = [t.requires_grad_() for t in _inputs()]
    xb = [t.detach().clone().requires_grad_() for t in xa]
    sum(o.square().mean() for o in plain(xa)).backward()
    sum(o.square().mean() for o in ckpt(xb)).backward()
    for (name, p), q in zip(plain.named_parameters(), ckpt.parameters()):
        assert p.grad is not None and p.grad.abs().sum() > 0, name
        assert torch.allclose(p.grad, q.grad, atol=1e-6), name
    assert all(t.grad.abs().sum() > 0 for t in xa)


def test_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="pooling_type"):
        HRFPN(CH, 8, pooling_type="SUM")
    with pytest.raises(ValueError, match="in_strides"):
        HRFPN(CH, 8, in_strides=[4, 8])
    with pytest.raises(ValueError, match="configured for 4"):
        HRFPN(CH, 8)(_inputs()[:3])


@pytest.mark.parametrize("config,total", [("hrnet/fcos_hrnetv2p_w32_gn-head_4x4_1x_coco.py", 480),
                                          ("hrnet/fcos_hrnetv2p_w18_gn-head_4x4_1x_coco.py", 270)])
def test_hrnet_config_necks_have_mmdetections_keys(config: str, total: int) -> None:
    """MMDetection's HRFPN: ``reduction_conv`` = ConvModule(sum(in_channels), out, 1, act_cfg=None) and
    ``fpn_convs.{0..4}`` = ConvModule(out, out, 3, padding=1, stride=stride, act_cfg=None); no norm_cfg is
    passed to either, so each conv keeps its bias: 2 + 5 * 2 = 12 keys."""
    cfg = Config.fromfile(str(ROOT / "configs" / config))
    neck = build(cfg.model.neck, "necks")
    got = {k: tuple(v.shape) for k, v in neck.state_dict().items()}
    expected = {"reduction_conv.conv.weight": (256, total, 1, 1), "reduction_conv.conv.bias": (256,)}
    for i in range(5):
        expected[f"fpn_convs.{i}.conv.weight"] = (256, 256, 3, 3)
        expected[f"fpn_convs.{i}.conv.bias"] = (256,)
    assert got == expected
    assert neck.strides == list(cfg.model.bbox_head.strides)  # stride=2 convs: 8 ... 128 for FCOS


@pytest.mark.segdet_component("HRFPN", "necks", in_channels=CH, out_channels=8, in_strides=[4, 8, 16, 32])
@pytest.mark.segdet_component("HRFPN", "necks", in_channels=CH, out_channels=8, stride=2, num_outs=4,
                              in_strides=[4, 8, 16, 32])
def test_hrfpn_keeps_the_neck_contract(segdet_component) -> None:
    assert segdet_component.out_channels[0] == 8
