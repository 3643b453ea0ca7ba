"""RegNetX: widths and depths of every named arch, torchvision's RegNetX as the reference, tiny shapes."""
from __future__ import annotations

import pytest
import torch
import torchvision
from segdet_backbone_resnet import RegNet
from segdet_backbone_resnet.convert import torchvision_regnet
from segdet_backbone_resnet.regnet import regnet_stages

# Stage widths (the FPN in_channels of MMDetection's configs/regnet/*) and blocks per stage
# (Radosavovic et al. 2020, Table of RegNetX models; pycls).
_EXPECTED = {
    "regnetx_400mf": ([32, 64, 160, 384], [1, 2, 7, 12]),
    "regnetx_800mf": ([64, 128, 288, 672], [1, 3, 7, 5]),
    "regnetx_1.6gf": ([72, 168, 408, 912], [2, 4, 10, 2]),
    "regnetx_3.2gf": ([96, 192, 432, 1008], [2, 6, 15, 2]),
    "regnetx_4.0gf": ([80, 240, 560, 1360], [2, 5, 14, 2]),
    "regnetx_6.4gf": ([168, 392, 784, 1624], [2, 4, 10, 1]),
    "regnetx_8.0gf": ([80, 240, 720, 1920], [2, 5, 15, 1]),
    "regnetx_12gf": ([224, 448, 896, 2240], [2, 5, 11, 1]),
}

_TINY = dict(w0=8, wa=8.0, wm=2.0, group_w=4, depth=5, bot_mul=1.0)


@pytest.mark.parametrize("arch", sorted(_EXPECTED))
def test_every_named_arch_has_the_published_stage_widths(arch: str) -> None:
    widths, blocks, groups = regnet_stages(RegNet.arch_params[arch])
    assert (widths, blocks) == _EXPECTED[arch]
    assert sum(blocks) == RegNet.arch_params[arch]["depth"]
    assert all(w % g == 0 for w, g in zip(widths, groups))


@pytest.mark.parametrize("arch,tv_name", [("regnetx_800mf", "regnet_x_800mf"), ("regnetx_1.6gf", "regnet_x_1_6gf")])
def test_keys_and_shapes_equal_torchvisions_regnetx_after_conversion(arch: str, tv_name: str) -> None:
    """torchvision builds RegNetX from the same (w0, wa, wm, group_w, depth) rule, independently of this code.

    (Not for 400MF: there the last stage's 392 channels are rounded to a multiple of 16 half-up by
    torchvision (400) and half-to-even by MMDetection (384, the width its configs and checkpoint use).)
    """
    reference = torchvision_regnet(getattr(torchvision.models, tv_name)(weights=None).state_dict())
    ours = RegNet(arch).state_dict()
    assert {k: tuple(v.shape) for k, v in ours.items()} == {k: tuple(v.shape) for k, v in reference.items()}


def test_400mf_rounds_half_to_even_as_mmdetection() -> None:
    net = RegNet("regnetx_400mf")
    assert net.out_channels == [32, 64, 160, 384] and net.layer4[0].conv2.weight.shape == (384, 16, 3, 3)


_TINY_STAGES = dict(strides=(2, 2, 2), dilations=(1, 1, 1), out_indices=(0, 1, 2))


def test_explicit_arch_dict_and_tiny_forward() -> None:
    net = RegNet(dict(_TINY), stem_channels=8, **_TINY_STAGES).eval()
    widths, blocks, _ = regnet_stages(_TINY)
    # block widths 8, 16, 32, 32, 32 (w_j = 8 + 8j quantised to 8 * 2**round(log2(w_j / 8)))
    assert net.out_channels == widths == [8, 16, 32] and list(net.stage_blocks) == blocks == [1, 1, 3]
    assert net.strides == [4, 8, 16] and net.layer2[0].conv2.groups == 4
    assert "maxpool" not in dict(net.named_children())
    outs = net(torch.rand(2, 3, 32, 48))
    assert [tuple(o.shape) for o in outs] == [(2, 8, 8, 12), (2, 16, 4, 6), (2, 32, 2, 3)]


def test_same_arch_by_name_or_by_dict() -> None:
    a = RegNet("regnetx_400mf").state_dict()
    b = RegNet(dict(RegNet.arch_params["regnetx_400mf"])).state_dict()
    assert {k: v.shape for k, v in a.items()} == {k: v.shape for k, v in b.items()}


def test_gradients_and_frozen_stages() -> None:
    net = RegNet(dict(_TINY), stem_channels=8, frozen_stages=1, zero_init_residual=False, norm_eval=False,
                 **_TINY_STAGES).train()
    assert not net.conv1.weight.requires_grad and not any(p.requires_grad for p in net.layer1.parameters())
    sum(o.mean() for o in net(torch.rand(2, 3, 32, 32))).backward()
    for name, p in net.named_parameters():
        assert (p.grad is not None and p.grad.abs().sum() > 0) == p.requires_grad, name


def test_bad_arch_names_and_dicts_say_what_is_expected() -> None:
    with pytest.raises(ValueError, match="regnetx_800mf"):
        RegNet("regnetx_900mf")
    with pytest.raises(ValueError, match="missing \\['bot_mul'\\]"):
        RegNet({k: v for k, v in _TINY.items() if k != "bot_mul"})
    with pytest.raises(ValueError, match="one stride and one dilation per stage"):
        RegNet(dict(_TINY), strides=(2, 2, 2, 2), dilations=(1, 1, 1, 1))


def test_converter_is_registered_and_rejects_regnety() -> None:
    from segdet.api import resolve

    assert resolve("torchvision-regnet", "converters") is torchvision_regnet
    with pytest.raises(ValueError, match="squeeze-excitation"):
        torchvision_regnet({"trunk_output.block1.block1-0.f.se.fc1.weight": torch.zeros(1)})


def test_converted_torchvision_weights_give_torchvisions_features() -> None:
    """Same weights, same outputs: the block wiring (projection shortcut, ReLU after the sum) matches."""
    torch.manual_seed(0)
    tv = torchvision.models.regnet_x_800mf(weights=None).eval()
    for m in tv.modules():  # non-trivial statistics so every norm matters
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
    net = RegNet("regnetx_800mf").eval()
    net.load_state_dict(torchvision_regnet(tv.state_dict()), strict=True)
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        y = tv.stem(x)
        expected = []
        for stage in tv.trunk_output:
            y = stage(y)
            expected.append(y)
        for got, want in zip(net(x), expected):
            assert torch.allclose(got, want, atol=1e-5)
