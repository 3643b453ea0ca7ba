"""DepthwiseSeparableASPPHead: shapes, gradients, separable convs, and MMSegmentation's parameter names.

The expected DeepLabV3+ keys are written out from MMSegmentation 0.x's module definitions (found with
the search tool: ``mmseg/models/decode_heads/sep_aspp_head.py`` and MMCV's ``DepthwiseSeparableConvModule``,
whose ``depthwise_conv`` is ``ConvModule(in, in, k, groups=in)`` and ``pointwise_conv`` ``ConvModule(in, out, 1)``):
branch 0 (dilation 1) stays a plain ``ConvModule``, the atrous branches, ``bottleneck`` and both
``sep_bottleneck`` convs are separable, ``c1_bottleneck`` is ``ConvModule(c1_in, c1, 1)`` and the first
``sep_bottleneck`` conv takes ``channels + c1_channels``. ../shared/reference has no DeepLabV3+ entry.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
from segdet_head_sepaspp import DepthwiseSeparableASPPHead

from segdet.api import ConvModule, DepthwiseSeparableConvModule, build
from segdet.testing import PixelCrossEntropy, registered


@pytest.fixture(autouse=True)
def _loss() -> Iterator[None]:
    with registered("losses", "SepASPPTestCE", PixelCrossEntropy):
        yield


def _head(**kw: object) -> DepthwiseSeparableASPPHead:
    args: dict = {"in_channels": 16, "channels": 8, "num_classes": 3, "in_index": 1, "c1_in_channels": 4,
                  "c1_channels": 4, "dilations": (1, 2, 3), "loss_decode": {"type": "SepASPPTestCE"},
                  "norm_cfg": {"type": "BN"}}
    args.update(kw)
    return DepthwiseSeparableASPPHead(**args)


def test_output_at_low_level_resolution_and_gradients() -> None:
    torch.manual_seed(0)
    head = _head()
    low = torch.randn(2, 4, 32, 32, requires_grad=True)
    deep = torch.randn(2, 16, 8, 8, requires_grad=True)
    out = head((low, deep))
    assert out.shape == (2, 3, 32, 32)
    losses = head.losses(out, torch.randint(0, 3, (2, 1, 64, 64)))
    losses["loss_ce"].backward()
    for name, p in head.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    assert low.grad is not None and low.grad.abs().sum() > 0
    assert deep.grad is not None and deep.grad.abs().sum() > 0


def test_without_low_level_branch_output_stays_at_deep_resolution() -> None:
    head = _head(c1_in_channels=0, c1_channels=0)
    assert head.c1_bottleneck is None
    assert head((torch.randn(2, 4, 32, 32), torch.randn(2, 16, 8, 8))).shape == (2, 3, 8, 8)


def test_branches_are_separable_atrous_convs() -> None:
    head = _head(dilations=(1, 2, 5))
    assert isinstance(head.aspp_modules[0], ConvModule)
    for branch, d in zip(list(head.aspp_modules)[1:], (2, 5)):
        assert isinstance(branch, DepthwiseSeparableConvModule)
        dw = branch.depthwise_conv.conv
        assert dw.groups == 16 and dw.dilation == (d, d) and dw.padding == (d, d)
        assert tuple(dw.weight.shape) == (16, 1, 3, 3)
        assert tuple(branch.pointwise_conv.conv.weight.shape) == (8, 16, 1, 1)
        assert branch.depthwise_conv.conv.bias is None  # a norm follows, as MMCV's bias='auto'


def test_depthwise_separable_module_equals_its_two_convs() -> None:
    torch.manual_seed(0)
    m = DepthwiseSeparableConvModule(6, 5, 3, padding=2, dilation=2, act_cfg=None)
    x = torch.randn(2, 6, 9, 9)
    dw, pw = m.depthwise_conv.conv, m.pointwise_conv.conv
    want = torch.nn.functional.conv2d(x, dw.weight, dw.bias, padding=2, dilation=2, groups=6)
    want = torch.nn.functional.conv2d(want, pw.weight, pw.bias)
    torch.testing.assert_close(m(x), want)
    # per-conv overrides: a norm on the pointwise conv only
    m2 = DepthwiseSeparableConvModule(6, 5, 3, padding=1, norm_cfg=None, pw_norm_cfg={"type": "BN"})
    assert m2.depthwise_conv.norm is None and m2.pointwise_conv.norm is not None


def test_built_by_name_and_bad_arguments() -> None:
    head = build({"type": "DepthwiseSeparableASPPHead", "in_channels": 16, "channels": 8, "num_classes": 3,
                  "c1_in_channels": 4, "c1_channels": 4, "loss_decode": {"type": "SepASPPTestCE"}}, "heads")
    assert isinstance(head, DepthwiseSeparableASPPHead)
    with pytest.raises(ValueError, match="c1_in_channels"):
        _head(c1_in_channels=-1)
    with pytest.raises(ValueError, match="dilations"):
        _head(dilations=(0, 2))


def _bn(prefix: str, c: int) -> dict[str, list[int]]:
    return {f"{prefix}.weight": [c], f"{prefix}.bias": [c], f"{prefix}.running_mean": [c],
            f"{prefix}.running_var": [c], f"{prefix}.num_batches_tracked": []}


def _sep(prefix: str, cin: int, cout: int) -> dict[str, list[int]]:
    return {f"{prefix}.depthwise_conv.conv.weight": [cin, 1, 3, 3], **_bn(f"{prefix}.depthwise_conv.bn", cin),
            f"{prefix}.pointwise_conv.conv.weight": [cout, cin, 1, 1], **_bn(f"{prefix}.pointwise_conv.bn", cout)}


def mmseg_deeplabv3plus_head_keys(num_classes: int = 19) -> dict[str, list[int]]:
    """decode_head.* of deeplabv3plus_r50-d8 (in 2048, channels 512, c1 256 -> 48, dilations (1, 12, 24, 36))."""
    keys: dict[str, list[int]] = {
        "conv_seg.weight": [num_classes, 512, 1, 1], "conv_seg.bias": [num_classes],
        "image_pool.1.conv.weight": [512, 2048, 1, 1], **_bn("image_pool.1.bn", 512),
        "aspp_modules.0.conv.weight": [512, 2048, 1, 1], **_bn("aspp_modules.0.bn", 512),
        **_sep("bottleneck", 2560, 512),
        "c1_bottleneck.conv.weight": [48, 256, 1, 1], **_bn("c1_bottleneck.bn", 48),
        **_sep("sep_bottleneck.0", 560, 512), **_sep("sep_bottleneck.1", 512, 512),
    }
    for i in (1, 2, 3):
        keys.update(_sep(f"aspp_modules.{i}", 2048, 512))
    return keys


def test_keys_match_mmsegmentation_deeplabv3plus() -> None:
    head = _head(in_channels=2048, channels=512, num_classes=19, in_index=3, dilations=(1, 12, 24, 36),
                 c1_in_channels=256, c1_channels=48)
    got = {k: list(v.shape) for k, v in head.state_dict().items()}
    assert got == mmseg_deeplabv3plus_head_keys()
