"""ASPPHead: shapes, gradients, what the dilations do, and MMSegmentation's parameter names.

The expected DeepLabV3 keys are written out from MMSegmentation 0.x's module definitions (found with
the search tool: ``mmseg/models/decode_heads/aspp_head.py``): ``image_pool = Sequential(AdaptiveAvgPool2d(1),
ConvModule(in, ch, 1))``, ``aspp_modules = ModuleList(ConvModule(in, ch, 1 if d == 1 else 3, dilation=d))``,
``bottleneck = ConvModule((len(dilations) + 1) * ch, ch, 3)`` and ``conv_seg`` from ``BaseDecodeHead``;
MMCV's ``ConvModule`` with a norm has no conv bias. ../shared/reference has no DeepLabV3 entry.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
from segdet_head_aspp import ASPPHead

from segdet.api import build
from segdet.testing import PixelCrossEntropy, registered


@pytest.fixture(autouse=True)
def _loss() -> Iterator[None]:
    with registered("losses", "ASPPTestCE", PixelCrossEntropy):
        yield


def _head(**kw: object) -> ASPPHead:
    args: dict = {"in_channels": 16, "channels": 8, "num_classes": 3, "loss_decode": {"type": "ASPPTestCE"},
                  "norm_cfg": {"type": "BN"}, "dilations": (1, 2, 3)}
    args.update(kw)
    return ASPPHead(**args)


def test_forward_shapes_and_gradients() -> None:
    torch.manual_seed(0)
    head = _head(in_index=1)
    feats = (torch.randn(2, 4, 32, 32), torch.randn(2, 16, 9, 7, requires_grad=True))
    out = head(feats)
    assert out.shape == (2, 3, 9, 7)
    losses = head.losses(out, torch.randint(0, 3, (2, 1, 36, 28)))
    assert set(losses) == {"loss_ce", "acc_seg"}
    losses["loss_ce"].backward()
    for name, p in head.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    assert feats[1].grad is not None and feats[1].grad.abs().sum() > 0


def test_dilations_set_kernel_padding_and_receptive_field() -> None:
    head = _head(dilations=(1, 2, 5), norm_cfg=None, act_cfg=None)
    convs = [m.conv for m in head.aspp_modules]
    assert [c.kernel_size for c in convs] == [(1, 1), (3, 3), (3, 3)]
    assert [c.dilation for c in convs] == [(1, 1), (2, 2), (5, 5)]
    assert [c.padding for c in convs] == [(0, 0), (2, 2), (5, 5)]
    # an impulse at the centre reaches exactly the pixels d away in each axis (and the centre)
    x = torch.zeros(1, 16, 21, 21)
    x[0, :, 10, 10] = 1.0
    with torch.no_grad():
        for conv, d in zip(convs, (1, 2, 5)):
            torch.nn.init.constant_(conv.weight, 1.0)
            torch.nn.init.zeros_(conv.bias)
            hit = conv(x)[0, 0].abs() > 0
            rows, cols = torch.nonzero(hit, as_tuple=True)
            offsets = {0} if d == 1 else {-d, 0, d}
            assert set((rows - 10).tolist()) == offsets and set((cols - 10).tolist()) == offsets
            assert int(hit.sum()) == len(offsets) ** 2


def test_image_pool_branch_is_global() -> None:
    # the pooled branch is one vector per image broadcast over the map: flipping the input spatially
    # leaves its contribution unchanged
    head = _head(norm_cfg=None).eval()
    x = torch.randn(2, 16, 6, 6)
    pooled = head.image_pool(x)
    assert pooled.shape == (2, 8, 1, 1)
    torch.testing.assert_close(pooled, head.image_pool(x.flip(-1)))


def test_built_by_name_and_bad_arguments() -> None:
    head = build({"type": "ASPPHead", "in_channels": 16, "channels": 8, "num_classes": 3,
                  "loss_decode": {"type": "ASPPTestCE"}}, "heads")
    assert isinstance(head, ASPPHead) and head.dilations == (1, 12, 24, 36)
    with pytest.raises(ValueError, match="dilations"):
        _head(dilations=())
    with pytest.raises(ValueError, match="one map"):
        _head(in_channels=[4, 16], in_index=[0, 1], input_transform="multiple_select")


def _bn(prefix: str, c: int) -> dict[str, list[int]]:
    return {f"{prefix}.weight": [c], f"{prefix}.bias": [c], f"{prefix}.running_mean": [c],
            f"{prefix}.running_var": [c], f"{prefix}.num_batches_tracked": []}


def test_keys_match_mmsegmentation_deeplabv3() -> None:
    expected: dict[str, list[int]] = {"conv_seg.weight": [19, 512, 1, 1], "conv_seg.bias": [19],
                                      "image_pool.1.conv.weight": [512, 2048, 1, 1], **_bn("image_pool.1.bn", 512),
                                      "aspp_modules.0.conv.weight": [512, 2048, 1, 1],
                                      **_bn("aspp_modules.0.bn", 512),
                                      "bottleneck.conv.weight": [512, 2560, 3, 3], **_bn("bottleneck.bn", 512)}
    for i in (1, 2, 3):
        expected[f"aspp_modules.{i}.conv.weight"] = [512, 2048, 3, 3]
        expected.update(_bn(f"aspp_modules.{i}.bn", 512))
    head = _head(in_channels=2048, channels=512, num_classes=19, in_index=3, dilations=(1, 12, 24, 36))
    got = {k: list(v.shape) for k, v in head.state_dict().items()}
    assert got == expected
