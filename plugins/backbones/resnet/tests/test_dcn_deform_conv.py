"""Deformable convs (MMCV's DCN / DCNv2 on torchvision's deform_conv2d) and DCN in ResNet blocks."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from segdet_backbone_resnet import DeformConv2dPack, ModulatedDeformConv2dPack, ResNet, ResNeXt
from segdet_backbone_resnet.dcn import build_dcn
from torch import nn


def _plain_like(dcn: DeformConv2dPack) -> nn.Conv2d:
    conv = nn.Conv2d(dcn.in_channels, dcn.out_channels, dcn.kernel_size, stride=dcn.stride, padding=dcn.padding,
                     dilation=dcn.dilation, groups=dcn.groups, bias=dcn.bias is not None)
    conv.weight.data.copy_(dcn.weight.data)
    if dcn.bias is not None:
        conv.bias.data.copy_(dcn.bias.data)
    return conv


@pytest.mark.parametrize("stride,padding,dilation,groups,deform_groups",
                         [(1, 1, 1, 1, 1), (2, 1, 1, 1, 1), (1, 2, 2, 2, 1), (1, 1, 1, 4, 2)])
def test_dcn_with_zero_offsets_equals_a_plain_conv(stride, padding, dilation, groups, deform_groups) -> None:
    torch.manual_seed(0)
    dcn = DeformConv2dPack(8, 16, 3, stride=stride, padding=padding, dilation=dilation, groups=groups,
                           deform_groups=deform_groups)
    assert dcn.conv_offset.out_channels == 2 * deform_groups * 9
    assert torch.count_nonzero(dcn.conv_offset.weight) == 0  # fresh module: regular grid
    x = torch.randn(2, 8, 13, 11)
    assert torch.allclose(dcn(x), _plain_like(dcn)(x), atol=1e-5)


@pytest.mark.parametrize("bias", [False, True])
def test_dcnv2_with_zero_offsets_is_a_conv_with_mask_one_half(bias: bool) -> None:
    """Mask logits start at 0, so every sample is weighted sigmoid(0) = 0.5 (the bias is not)."""
    torch.manual_seed(0)
    dcn = ModulatedDeformConv2dPack(8, 16, 3, padding=1, deform_groups=2, bias=bias)
    if bias:
        dcn.bias.data.uniform_(-1, 1)
    assert dcn.conv_offset.out_channels == 3 * 2 * 9
    x = torch.randn(2, 8, 12, 12)
    conv = _plain_like(dcn)
    expected = 0.5 * F.conv2d(x, conv.weight, None, padding=1)
    if bias:
        expected = expected + dcn.bias.view(1, -1, 1, 1)
    assert torch.allclose(dcn(x), expected, atol=1e-5)


def test_offset_layout_is_dy_dx_per_kernel_point() -> None:
    """An offset of +1 in x for every kernel point samples the input shifted one pixel left.

    Column 0 is left out: there the DCN's left tap reads x[..., 0], the shifted conv its zero padding.
    """
    torch.manual_seed(0)
    dcn = DeformConv2dPack(4, 6, 3, padding=1)
    nn.init.constant_(dcn.conv_offset.bias.view(9, 2)[:, 1], 1.0)  # (dy, dx) pairs: dx = 1
    x = torch.randn(2, 4, 10, 9)
    shifted = F.pad(x[..., 1:], (0, 1))  # x'[..., w] = x[..., w + 1], zero beyond the border
    assert torch.allclose(dcn(x)[..., 1:], _plain_like(dcn)(shifted)[..., 1:], atol=1e-5)
    dcn2 = ModulatedDeformConv2dPack(4, 6, 3, padding=1, bias=False)
    dcn2.weight.data.copy_(dcn.weight.data)
    nn.init.constant_(dcn2.conv_offset.bias[:18].view(9, 2)[:, 0], 1.0)  # dy = 1 in the o1/o2 part
    nn.init.constant_(dcn2.conv_offset.bias[18:], 20.0)  # mask ~ 1
    shifted_y = F.pad(x[..., 1:, :], (0, 0, 0, 1))
    assert torch.allclose(dcn2(x)[..., 1:, :], _plain_like(dcn)(shifted_y)[..., 1:, :], atol=1e-4)
    assert not torch.allclose(dcn2(x), _plain_like(dcn)(x), atol=1e-2)  # the offset did move the samples


def test_gradients_reach_weights_and_the_offset_branch() -> None:
    torch.manual_seed(0)
    for cls in (DeformConv2dPack, ModulatedDeformConv2dPack):
        dcn = cls(4, 8, 3, padding=1)
        dcn(torch.randn(2, 4, 9, 9, requires_grad=True)).square().sum().backward()
        for name, p in dcn.named_parameters():
            assert p.grad is not None and p.grad.abs().sum() > 0, (cls.__name__, name)


def test_mmdetection_1x_offset_keys_load_into_conv_offset() -> None:
    net = ResNet(depth=50, base_channels=8, dcn=dict(type="DCN"), stage_with_dcn=(False, False, False, True))
    state = net.state_dict()
    old = {}
    for k, v in state.items():
        old[k.replace("conv2.conv_offset.", "conv2_offset.")] = torch.full_like(v, 0.25) if "offset" in k else v
    assert "layer4.0.conv2_offset.weight" in old
    net.load_state_dict(old, strict=True)
    assert torch.all(net.layer4[0].conv2.conv_offset.weight == 0.25)


def test_build_dcn_rejects_unknown_types_and_keys() -> None:
    assert isinstance(build_dcn(dict(type="DCNv2", deform_groups=2), 8, 8, 3, padding=1), ModulatedDeformConv2dPack)
    with pytest.raises(ValueError, match="'DCN' or 'DCNv2'"):
        build_dcn(dict(type="DCNv3"), 8, 8, 3)
    with pytest.raises(ValueError, match="unknown keys"):
        build_dcn(dict(type="DCN", deformable_groups=1), 8, 8, 3)
    with pytest.raises(ValueError, match="ResNet dcn"):
        ResNet(depth=50, base_channels=8, dcn=dict(type="Conv2d"), stage_with_dcn=(False, True, True, True))


@pytest.mark.parametrize("kind", ["DCN", "DCNv2"])
def test_resnet_with_dcn_in_c3_c5(kind: str) -> None:
    dcn = dict(type=kind, deform_groups=1, fallback_on_stride=False)
    net = ResNet(depth=50, base_channels=8, dcn=dcn, stage_with_dcn=(False, True, True, True)).eval()
    per_point = 2 if kind == "DCN" else 3
    offsets = {k: tuple(v.shape) for k, v in net.state_dict().items() if "conv_offset" in k}
    assert len(offsets) == 2 * (4 + 6 + 3)  # weight + bias of every block of layer2..layer4
    assert offsets["layer2.0.conv2.conv_offset.weight"] == (per_point * 9, 16, 3, 3)
    assert offsets["layer4.2.conv2.conv_offset.bias"] == (per_point * 9,)
    assert "layer2.0.conv2.bias" not in net.state_dict()  # no bias, as MMDetection builds it
    assert not any(k.startswith("layer1.") for k in offsets)
    outs = net(torch.rand(2, 3, 32, 32))
    assert [tuple(o.shape) for o in outs] == [(2, 32, 8, 8), (2, 64, 4, 4), (2, 128, 2, 2), (2, 256, 1, 1)]


def test_resnet_dcn_with_zero_offsets_equals_the_plain_resnet() -> None:
    torch.manual_seed(0)
    plain = ResNet(depth=50, base_channels=8, zero_init_residual=False).eval()
    dcn = ResNet(depth=50, base_channels=8, zero_init_residual=False, dcn=dict(type="DCN"),
                 stage_with_dcn=(False, True, False, True)).eval()
    missing, unexpected = dcn.load_state_dict(plain.state_dict(), strict=False)
    assert unexpected == [] and all("conv_offset" in k for k in missing) and len(missing) == 2 * 7
    x = torch.rand(2, 3, 32, 32)
    for a, b in zip(plain(x), dcn(x)):
        assert torch.allclose(a, b, atol=1e-5)


def test_resnet_dcn_gradients_and_grouped_dcn_in_resnext() -> None:
    net = ResNeXt(depth=50, groups=4, base_width=2, base_channels=8, zero_init_residual=False,
                  dcn=dict(type="DCNv2", deform_groups=2), stage_with_dcn=(False, False, True, True)).train()
    conv2 = net.layer3[0].conv2
    assert isinstance(conv2, ModulatedDeformConv2dPack) and conv2.groups == 4
    assert conv2.conv_offset.out_channels == 3 * 2 * 9
    sum(o.mean() for o in net(torch.rand(2, 3, 32, 32))).backward()
    assert conv2.weight.grad.abs().sum() > 0 and conv2.conv_offset.weight.grad.abs().sum() > 0


def test_fallback_on_stride_keeps_plain_strided_convs_and_basic_blocks_refuse_dcn() -> None:
    net = ResNet(depth=50, base_channels=8, dcn=dict(type="DCN", fallback_on_stride=True),
                 stage_with_dcn=(False, True, True, True))
    assert type(net.layer2[0].conv2) is nn.Conv2d and isinstance(net.layer2[1].conv2, DeformConv2dPack)
    with pytest.raises(ValueError, match="BasicBlock"):
        ResNet(depth=18, base_channels=8, dcn=dict(type="DCN"), stage_with_dcn=(False, True, True, True))
    with pytest.raises(ValueError, match="stage_with_dcn"):
        ResNet(depth=50, base_channels=8, dcn=dict(type="DCN"), stage_with_dcn=(False, True))


def test_a_detector_with_a_dcn_resnext_backbone_trains_one_step() -> None:
    """The shapes RetinaNet with a tiny ResNeXt + DCNv2 backbone: losses are finite and the offset convs learn."""
    from pathlib import Path

    import numpy as np

    from segdet import Config, build_model

    root = Path(__file__).resolve().parents[4]
    cfg = Config.fromfile(str(root / "configs/retinanet/retinanet_r18_fpn_shapes.py"))
    cfg.model.backbone = dict(type="ResNeXt", depth=50, groups=2, base_width=4, base_channels=8, out_indices=(1, 2, 3),
                              norm_eval=False, zero_init_residual=False,
                              dcn=dict(type="DCNv2", deform_groups=1, fallback_on_stride=False),
                              stage_with_dcn=(False, True, True, True))
    cfg.model.neck.in_channels = [64, 128, 256]
    torch.manual_seed(0)
    model = build_model(cfg.model).train()
    img = torch.rand(2, 3, 64, 64)
    metas = [dict(img_shape=(64, 64, 3), pad_shape=(64, 64, 3), ori_shape=(64, 64, 3), flip=False,
                  scale_factor=np.ones(4, dtype=np.float32)) for _ in range(2)]
    boxes = [torch.tensor([[8.0, 8.0, 40.0, 36.0]]), torch.tensor([[20.0, 10.0, 50.0, 60.0], [2.0, 2.0, 20.0, 20.0]])]
    labels = [torch.tensor([0]), torch.tensor([1, 2])]
    losses = model.forward_train(img, metas, boxes, labels)
    total = sum(v if isinstance(v, torch.Tensor) else sum(v) for k, v in losses.items() if "loss" in k)
    assert torch.isfinite(total)
    total.backward()
    offset = model.backbone.layer3[0].conv2.conv_offset.weight
    assert offset.grad is not None and offset.grad.abs().sum() > 0
