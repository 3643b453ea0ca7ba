"""ResNeXt (grouped bottlenecks), Res2Net (hierarchical split bottlenecks) and MMSeg's multi_grid."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from segdet_backbone_resnet import Res2Net, ResNetV1c, ResNetV1d, ResNeXt
from segdet_backbone_resnet.res2net import Bottle2neck
from torch import nn


def _grads_reach_every_trainable_parameter(net: nn.Module, x: torch.Tensor) -> None:
    sum(o.mean() for o in net(x)).backward()
    for name, p in net.named_parameters():
        if p.requires_grad:
            assert p.grad is not None and p.grad.abs().sum() > 0, name
        else:
            assert p.grad is None, name


def test_resnext_widths_groups_and_shapes() -> None:
    net = ResNeXt(depth=50, groups=4, base_width=4, base_channels=8).eval()
    # width = floor(planes * base_width / base_channels) * groups = planes * 2 for planes 8, 16, 32, 64
    assert [net.layer1[0].conv2.weight.shape[0], net.layer4[0].conv2.weight.shape[0]] == [16, 128]
    assert all(getattr(net, f"layer{i}")[0].conv2.groups == 4 for i in range(1, 5))
    assert net.layer2[0].conv2.weight.shape == (32, 8, 3, 3)  # grouped: in / groups
    assert net.layer2[0].conv3.weight.shape == (64, 32, 1, 1)  # output stays planes * 4
    assert net.out_channels == [32, 64, 128, 256] and net.strides == [4, 8, 16, 32]
    outs = net(torch.rand(2, 3, 40, 24))
    assert [tuple(o.shape) for o in outs] == [(2, 32, 10, 6), (2, 64, 5, 3), (2, 128, 3, 2), (2, 256, 2, 1)]


def test_resnext_groups_one_is_a_plain_resnet_and_grads_flow() -> None:
    plain = ResNeXt(depth=50, groups=1, base_channels=8)
    assert plain.layer1[0].conv2.weight.shape == (8, 8, 3, 3)
    net = ResNeXt(depth=50, groups=2, base_width=8, base_channels=8, frozen_stages=1,
                  zero_init_residual=False).train()
    _grads_reach_every_trainable_parameter(net, torch.rand(2, 3, 32, 32))


def test_resnext_grouped_conv_mixes_only_within_a_group() -> None:
    net = ResNeXt(depth=50, groups=4, base_width=4, base_channels=8)
    conv = net.layer1[0].conv2  # 16 -> 16 channels in 4 groups of 4
    x = torch.zeros(1, 16, 5, 5)
    x[:, 0:4] = torch.rand(1, 4, 5, 5)  # only group 0 has input
    out = conv(x)
    assert out[:, 0:4].abs().sum() > 0 and torch.count_nonzero(out[:, 4:]) == 0


def test_resnext_rejects_depths_without_bottlenecks() -> None:
    with pytest.raises(ValueError, match="ResNeXt depth must be one of \\[50, 101, 152\\]"):
        ResNeXt(depth=18, groups=32)


def _bottle2neck_reference(block: Bottle2neck, x: torch.Tensor) -> torch.Tensor:
    """Res2Net's block written out by hand from the paper's equations."""
    out = F.relu(block.bn1(block.conv1(x)))
    xs = torch.split(out, block.width, dim=1)
    ys = []
    for i in range(block.scales - 1):
        inp = xs[i] if (i == 0 or block.stage_type == "stage") else xs[i] + ys[-1]
        ys.append(F.relu(block.bns[i](block.convs[i](inp))))
    last = xs[-1]
    if block.stage_type == "stage" and block.conv2_stride != 1:
        last = F.avg_pool2d(last, 3, block.conv2_stride, 1)
    out = block.bn3(block.conv3(torch.cat(ys + [last], dim=1)))
    identity = x if block.downsample is None else block.downsample(x)
    return F.relu(out + identity)


def test_res2net_blocks_follow_the_hierarchical_split() -> None:
    torch.manual_seed(0)
    net = Res2Net(depth=50, scales=4, base_width=4, base_channels=16, zero_init_residual=False).eval()
    for m in net.modules():  # non-trivial norms so that every branch matters
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    x = torch.rand(2, 64, 9, 9)
    stage_block, normal_block = net.layer2[0], net.layer2[1]
    assert stage_block.stage_type == "stage" and hasattr(stage_block, "pool")
    assert normal_block.stage_type == "normal" and not hasattr(normal_block, "pool")
    with torch.no_grad():
        assert torch.allclose(stage_block(x), _bottle2neck_reference(stage_block, x), atol=1e-5)
        y = stage_block(x)
        assert torch.allclose(normal_block(y), _bottle2neck_reference(normal_block, y), atol=1e-5)


def test_res2net_keys_shapes_and_gradients() -> None:
    net = Res2Net(depth=50, scales=4, base_width=4, base_channels=16, frozen_stages=1,
                  zero_init_residual=False).train()
    keys = net.state_dict()
    # width = floor(16 * 4 / 16) = 4 per scale at layer1, 4 scales -> conv1 outputs 16
    assert keys["layer1.0.conv1.weight"].shape == (16, 16, 1, 1)
    assert keys["layer1.0.convs.2.weight"].shape == (4, 4, 3, 3) and "layer1.0.convs.3.weight" not in keys
    assert keys["layer1.0.bns.0.weight"].shape == (4,) and "layer1.0.conv2.weight" not in keys
    assert keys["layer2.0.downsample.1.weight"].shape == (128, 64, 1, 1)  # after AvgPool2d
    assert isinstance(net.layer1[0].downsample[0], nn.AvgPool2d)
    assert "stem.6.weight" in keys and "conv1.weight" not in keys  # deep stem
    _grads_reach_every_trainable_parameter(net, torch.rand(2, 3, 32, 32))


def test_res2net_refuses_what_mmdetection_silently_ignores() -> None:
    with pytest.raises(ValueError, match="deep_stem=True"):
        Res2Net(depth=50, deep_stem=False, base_channels=16, base_width=4)
    with pytest.raises(ValueError, match="scales"):
        Res2Net(depth=50, scales=1, base_channels=16, base_width=4)


@pytest.mark.parametrize("cls", [ResNetV1c, ResNetV1d])
def test_multi_grid_sets_the_last_stage_dilations(cls) -> None:
    net = cls(depth=50, base_channels=8, strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4), contract_dilation=True,
              multi_grid=(1, 2, 4)).eval()
    assert [b.conv2.dilation[0] for b in net.layer4] == [1, 2, 4]
    assert [b.conv2.padding[0] for b in net.layer4] == [1, 2, 4]
    assert [b.conv2.dilation[0] for b in net.layer3] == [1] + [2] * 5  # contracted, no multi-grid
    outs = net(torch.rand(2, 3, 33, 40))
    assert [tuple(o.shape) for o in outs][-1] == (2, 256, 5, 5)
    with pytest.raises(ValueError, match="multi_grid"):
        cls(depth=50, base_channels=8, multi_grid=(1, 2))


def test_resnext_gives_torchvisions_resnext_features_with_the_same_weights() -> None:
    import torchvision

    torch.manual_seed(0)
    tv = torchvision.models.resnext50_32x4d(weights=None).eval()
    for m in tv.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
    net = ResNeXt(depth=50, groups=32, base_width=4).eval()
    net.load_state_dict({k: v for k, v in tv.state_dict().items() if not k.startswith("fc.")}, strict=True)
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        y = tv.maxpool(tv.relu(tv.bn1(tv.conv1(x))))
        for got, layer in zip(net(x), (tv.layer1, tv.layer2, tv.layer3, tv.layer4)):
            y = layer(y)
            assert torch.allclose(got, y, atol=1e-5)
