"""Shapes, freezing, norm_eval, checkpointing, norms and gradients of the tiny ResNets."""
from __future__ import annotations

import copy
import math

import pytest
import torch
from segdet_backbone_resnet import ResNet, ResNetV1c, ResNetV1d
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


def _conv_out(size: int, stride: int) -> int:
    """Spatial size after a k3/p1 (or k7/p3) conv or pool of ``stride``: ceil division."""
    return math.ceil(size / stride)


@pytest.mark.parametrize("depth", [18, 34, 50])
@pytest.mark.parametrize("size", [(64, 64), (33, 47), (17, 9)])
def test_output_shapes_follow_out_channels_and_strides(depth: int, size: tuple[int, int]) -> None:
    net = ResNet(depth=depth, base_channels=8).eval()
    exp = 1 if depth < 50 else 4
    assert net.out_channels == [8 * exp, 16 * exp, 32 * exp, 64 * exp]
    assert net.strides == [4, 8, 16, 32]
    outs = net(torch.rand(2, 3, *size))
    assert len(outs) == 4
    h, w = size
    for out, c, s in zip(outs, net.out_channels, net.strides):
        assert out.shape == (2, c, _conv_out(h, s), _conv_out(w, s))


@pytest.mark.parametrize("cls", [ResNetV1c, ResNetV1d])
def test_dilated_d8_keeps_stride_8(cls: type[ResNet]) -> None:
    net = cls(depth=50, base_channels=8, strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4),
              contract_dilation=True, out_indices=(1, 3)).eval()
    assert net.strides == [8, 8]
    assert net.out_channels == [64, 256]
    outs = net(torch.rand(2, 3, 37, 64))
    assert [tuple(o.shape) for o in outs] == [(2, 64, 5, 8), (2, 256, 5, 8)]


def test_contract_dilation_halves_first_block_only() -> None:
    net = ResNetV1c(depth=50, base_channels=8, strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4),
                    contract_dilation=True)
    assert [b.conv2.dilation[0] for b in net.layer3] == [1] + [2] * 5
    assert [b.conv2.dilation[0] for b in net.layer4] == [2, 4, 4]
    plain = ResNetV1c(depth=50, base_channels=8, strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4))
    assert [b.conv2.dilation[0] for b in plain.layer4] == [4, 4, 4]


def test_caffe_style_moves_the_stride_to_the_first_conv() -> None:
    net = ResNet(depth=50, base_channels=8, style="caffe")
    assert net.layer2[0].conv1.stride == (2, 2) and net.layer2[0].conv2.stride == (1, 1)
    net = ResNet(depth=50, base_channels=8, style="pytorch")
    assert net.layer2[0].conv1.stride == (1, 1) and net.layer2[0].conv2.stride == (2, 2)


def test_resnetv1d_downsamples_shortcut_by_average_pooling() -> None:
    net = ResNetV1d(depth=50, base_channels=8)
    ds = net.layer2[0].downsample
    assert isinstance(ds[0], nn.AvgPool2d) and ds[1].stride == (1, 1)
    assert "stem.6.weight" in net.state_dict() and "conv1.weight" not in net.state_dict()


def test_num_stages_and_out_indices_subset() -> None:
    net = ResNet(depth=18, base_channels=8, num_stages=3, strides=(1, 2, 2), dilations=(1, 1, 1),
                 out_indices=(2,)).eval()
    assert not hasattr(net, "layer4")
    assert net.out_channels == [32] and net.strides == [16]
    (out,) = net(torch.rand(2, 3, 32, 32))
    assert out.shape == (2, 32, 2, 2)


@pytest.mark.parametrize("kwargs", [dict(depth=20), dict(depth=18, out_indices=(4,)),
                                    dict(depth=18, num_stages=3), dict(depth=18, style="tf")])
def test_invalid_arguments_say_what_is_wrong(kwargs: dict) -> None:
    with pytest.raises(ValueError, match="ResNet"):
        ResNet(base_channels=8, **kwargs)


@pytest.mark.parametrize("deep_stem", [False, True])
def test_frozen_stages_have_no_grad_and_stay_frozen_after_train(deep_stem: bool) -> None:
    net = ResNet(depth=18, base_channels=8, frozen_stages=2, deep_stem=deep_stem, norm_eval=False)
    net.train()
    stem = [net.stem] if deep_stem else [net.conv1, net.norm1]
    frozen = stem + [net.layer1, net.layer2]
    for m in frozen:
        assert all(not p.requires_grad for p in m.parameters())
        assert all(not sub.training for sub in m.modules())
    for m in [net.layer3, net.layer4]:
        assert all(p.requires_grad for p in m.parameters())
        assert all(sub.training for sub in m.modules())
    before = copy.deepcopy(net.layer1.state_dict())
    net(torch.rand(2, 3, 32, 32))
    after = net.layer1.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_norm_eval_keeps_running_stats_fixed() -> None:
    net = ResNet(depth=18, base_channels=8, norm_eval=True).train()
    assert all(not m.training for m in net.modules() if isinstance(m, _BatchNorm))
    before = {k: v.clone() for k, v in net.state_dict().items() if "running" in k}
    net(torch.rand(2, 3, 32, 32) * 5 + 3)
    after = net.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)

    moving = ResNet(depth=18, base_channels=8, norm_eval=False).train()
    ref = moving.bn1.running_mean.clone()
    moving(torch.rand(2, 3, 32, 32) * 5 + 3)
    assert not torch.equal(ref, moving.bn1.running_mean)


def test_with_cp_matches_plain_forward_and_backward() -> None:
    torch.manual_seed(0)
    plain = ResNet(depth=50, base_channels=8, zero_init_residual=False).train()
    ckpt = ResNet(depth=50, base_channels=8, zero_init_residual=False, with_cp=True).train()
    ckpt.load_state_dict(plain.state_dict())
    x = torch.rand(2, 3, 32, 32)
    out_a, out_b = plain(x.clone().requires_grad_()), ckpt(x.clone().requires_grad_())
    for a, b in zip(out_a, out_b):
        assert torch.allclose(a, b, atol=1e-6)
    sum(o.sum() for o in out_a).backward()
    sum(o.sum() for o in out_b).backward()
    grads_b = dict(ckpt.named_parameters())
    for name, p in plain.named_parameters():
        assert torch.allclose(p.grad, grads_b[name].grad, atol=1e-5), name


def test_group_norm_config_builds_gn_layers() -> None:
    net = ResNet(depth=50, base_channels=8, norm_cfg=dict(type="GN", num_groups=4, requires_grad=True)).train()
    keys = net.state_dict().keys()
    assert "gn1.weight" in keys and "layer1.0.gn3.weight" in keys and "bn1.weight" not in keys
    assert isinstance(net.layer1[0].downsample[1], nn.GroupNorm)
    outs = net(torch.rand(2, 3, 32, 32))
    assert outs[-1].shape == (2, 256, 1, 1)


def test_requires_grad_false_in_norm_cfg_freezes_norms() -> None:
    net = ResNet(depth=18, base_channels=8, norm_cfg=dict(type="BN", requires_grad=False))
    assert not net.bn1.weight.requires_grad and net.conv1.weight.requires_grad


@pytest.mark.parametrize("cls", [ResNet, ResNetV1d])
def test_gradients_reach_every_trainable_parameter(cls: type[ResNet]) -> None:
    net = cls(depth=50, base_channels=8, frozen_stages=1, zero_init_residual=False).train()
    outs = net(torch.rand(2, 3, 32, 32))
    sum(o.mean() for o in outs).backward()
    for name, p in net.named_parameters():
        if p.requires_grad:
            assert p.grad is not None and p.grad.abs().sum() > 0, name
        else:
            assert p.grad is None, name


def test_zero_init_residual_zeroes_last_norm() -> None:
    net = ResNet(depth=50, base_channels=8)
    assert torch.all(net.layer1[0].bn3.weight == 0) and torch.all(net.layer1[0].bn1.weight == 1)
    net = ResNet(depth=18, base_channels=8)
    assert torch.all(net.layer2[1].bn2.weight == 0)


def test_pretrained_init_cfg_loads_a_local_checkpoint(tmp_path) -> None:
    src = ResNet(depth=18, base_channels=8)
    for p in src.parameters():
        p.data.uniform_()
    path = tmp_path / "r18.pth"
    torch.save({"state_dict": {f"backbone.{k}": v for k, v in src.state_dict().items()}}, path)
    net = ResNet(depth=18, base_channels=8,
                 init_cfg=dict(type="Pretrained", checkpoint=str(path), prefix="backbone."))
    assert not torch.equal(net.conv1.weight, src.conv1.weight)  # nothing is read at construction
    net.init_weights()
    assert all(torch.equal(v, net.state_dict()[k]) for k, v in src.state_dict().items())
    net = ResNet(depth=18, base_channels=8, init_cfg=dict(type="Pretrained", checkpoint=str(path)))
    net.init_weights()
    assert torch.equal(net.layer4[1].conv2.weight, src.layer4[1].conv2.weight)  # backbone. found alone
    torch.save(src.state_dict(), path)
    with pytest.warns(DeprecationWarning):
        old = ResNet(depth=18, base_channels=8, pretrained=str(path))
    old.init_weights()
    assert torch.equal(old.conv1.weight, src.conv1.weight)


def test_frozen_stages_stay_frozen_after_init_weights(tmp_path) -> None:
    path = tmp_path / "r18.pth"
    torch.save(ResNet(depth=18, base_channels=8).state_dict(), path)
    net = ResNet(depth=18, base_channels=8, frozen_stages=1,
                 init_cfg=dict(type="Pretrained", checkpoint=str(path)))
    net.init_weights()
    assert not net.conv1.weight.requires_grad and not net.layer1[0].conv1.weight.requires_grad
    assert net.layer2[0].conv1.weight.requires_grad


def test_build_through_the_registry() -> None:
    from segdet.api import build

    net = build(dict(type="ResNet", depth=18, base_channels=8), "backbones")
    assert isinstance(net, ResNet) and net.out_channels == [8, 16, 32, 64]
    net = build(dict(type="ResNetV1d", depth=50, base_channels=8, out_indices=(3,)), "backbones")
    assert isinstance(net, ResNetV1d) and net.out_channels == [256]


def test_checkpoint_names_resolve_without_downloading() -> None:
    from segdet_backbone_resnet.checkpoints import resolve_checkpoint

    url = resolve_checkpoint("torchvision://resnet50")
    assert url.startswith("https://") and "resnet50" in url
    assert resolve_checkpoint("open-mmlab://resnet50_v1c").endswith(".pth")
    assert resolve_checkpoint("/some/local.pth") == "/some/local.pth"
    with pytest.raises(ValueError, match="unknown open-mmlab name"):
        resolve_checkpoint("open-mmlab://resnet7_v1c")
    with pytest.raises(ValueError, match="torchvision has no model"):
        resolve_checkpoint("torchvision://resnet7")
    with pytest.raises(ValueError, match="local path"):
        resolve_checkpoint("s3://bucket/r50.pth")


def test_bad_checkpoint_names_fail_at_build_and_missing_files_at_init_weights(tmp_path) -> None:
    from segdet.api import CheckpointError

    with pytest.raises(ValueError, match="torchvision has no model"):
        ResNet(depth=18, base_channels=8, init_cfg=dict(type="Pretrained", checkpoint="torchvision://resnet7"))
    with pytest.raises(ValueError, match="init_cfg"):
        ResNet(depth=18, base_channels=8, init_cfg=dict(type="Kaiming"))
    net = ResNet(depth=18, base_channels=8, init_cfg=dict(type="Pretrained", checkpoint=str(tmp_path / "x.pth")))
    with pytest.raises(CheckpointError, match="does not exist"):
        net.init_weights()
