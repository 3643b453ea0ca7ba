"""FCNHead: output shapes, variants, and MMSegmentation's parameter names and shapes."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
from segdet_head_fcn import FCNHead
from torch import nn

from segdet.testing import PixelCrossEntropy, registered
from segdet.testing.shared import reference_keys


@pytest.fixture(autouse=True)
def _loss() -> Iterator[None]:
    with registered("losses", "FCNTestCE", PixelCrossEntropy):
        yield


def _head(**kw: object) -> FCNHead:
    args: dict = {"in_channels": 16, "channels": 8, "num_classes": 3, "loss_decode": {"type": "FCNTestCE"},
                  "norm_cfg": {"type": "BN"}}
    args.update(kw)
    return FCNHead(**args)


@pytest.mark.parametrize("num_convs,concat,dilation", [(2, True, 1), (1, False, 1), (2, False, 2)])
def test_forward_shapes_and_gradients(num_convs: int, concat: bool, dilation: int) -> None:
    head = _head(num_convs=num_convs, concat_input=concat, dilation=dilation)
    out = head((torch.randn(2, 16, 10, 12),))
    assert out.shape == (2, 3, 10, 12)
    losses = head.losses(out, torch.randint(0, 3, (2, 1, 20, 24)))
    losses["loss_ce"].backward()
    assert head.convs[0].conv.weight.grad is not None
    assert hasattr(head, "conv_cat") == concat


def test_zero_convs_pass_through() -> None:
    head = _head(in_channels=8, num_convs=0, concat_input=False)
    assert isinstance(head.convs, nn.Identity)
    assert head((torch.randn(2, 8, 5, 5),)).shape == (2, 3, 5, 5)
    with pytest.raises(ValueError, match="num_convs=0"):
        _head(num_convs=0)


def test_dropout_and_classifier_names() -> None:
    head = _head(dropout_ratio=0.0)
    assert head.dropout is None and head.conv_seg.out_channels == 3
    assert isinstance(_head().dropout, nn.Dropout2d)


@pytest.mark.parametrize("prefix,kw", [
    ("decode_head.", {"in_channels": 2048, "channels": 512, "num_convs": 2, "concat_input": True}),
    ("auxiliary_head.", {"in_channels": 1024, "channels": 256, "num_convs": 1, "concat_input": False}),
])
def test_keys_match_mmsegmentation_fcn(prefix: str, kw: dict) -> None:
    ref = reference_keys()["fcn/fcn_r50-d8_512x1024_40k_cityscapes.py"]
    expected = {k[len(prefix):]: v for k, v in ref.items() if k.startswith(prefix)}
    head = _head(num_classes=19, **kw)
    assert {k: list(v.shape) for k, v in head.state_dict().items()} == expected
