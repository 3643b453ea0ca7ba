"""PSPHead: output shapes, gradients, and MMSegmentation's parameter names and shapes."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
from segdet_head_psp import PSPHead

from segdet.api import build
from segdet.testing import PixelCrossEntropy, registered
from segdet.testing.shared import reference_keys


@pytest.fixture(autouse=True)
def _loss() -> Iterator[None]:
    with registered("losses", "PSPTestCE", PixelCrossEntropy):
        yield


def _head(**kw: object) -> PSPHead:
    args: dict = {"in_channels": 16, "channels": 8, "num_classes": 3, "loss_decode": {"type": "PSPTestCE"},
                  "norm_cfg": {"type": "BN"}}
    args.update(kw)
    return PSPHead(**args)


def test_forward_shapes_and_gradients() -> None:
    head = _head(in_index=1)
    feats = (torch.randn(2, 4, 16, 16), torch.randn(2, 16, 9, 7))
    out = head(feats)
    assert out.shape == (2, 3, 9, 7)
    losses = head.losses(out, torch.randint(0, 3, (2, 1, 36, 28)))
    losses["loss_ce"].backward()
    assert head.bottleneck.conv.weight.grad is not None and head.psp_modules[3][1].conv.weight.grad is not None
    assert {"loss_ce", "acc_seg"} == set(losses)


def test_resize_concat_input() -> None:
    head = _head(in_channels=[4, 16], in_index=[0, 1], input_transform="resize_concat")
    assert head.in_channels == 20
    assert head((torch.randn(2, 4, 16, 16), torch.randn(2, 16, 8, 8))).shape == (2, 3, 16, 16)


def test_built_by_name_and_bad_pool_scales() -> None:
    head = build({"type": "PSPHead", "in_channels": 16, "channels": 8, "num_classes": 3,
                  "loss_decode": {"type": "PSPTestCE"}}, "heads")
    assert isinstance(head, PSPHead)
    with pytest.raises(ValueError, match="pool_scales"):
        _head(pool_scales=())


def test_keys_match_mmsegmentation_pspnet() -> None:
    ref = reference_keys()["pspnet/pspnet_r50-d8_512x1024_40k_cityscapes.py"]
    expected = {k[len("decode_head."):]: v for k, v in ref.items() if k.startswith("decode_head.")}
    head = _head(in_channels=2048, channels=512, num_classes=19, in_index=3)
    got = {k: list(v.shape) for k, v in head.state_dict().items()}
    assert got == expected
