"""UPerHead: multi-level fusion shapes and MMSegmentation's parameter names and shapes."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
from segdet_head_uper import UPerHead

from segdet.api import build
from segdet.testing import PixelCrossEntropy, registered
from segdet.testing.shared import reference_keys


@pytest.fixture(autouse=True)
def _loss() -> Iterator[None]:
    with registered("losses", "UPerTestCE", PixelCrossEntropy):
        yield


def _head(**kw: object) -> UPerHead:
    args: dict = {"in_channels": [4, 8, 12, 16], "channels": 8, "num_classes": 3,
                  "loss_decode": {"type": "UPerTestCE"}, "norm_cfg": {"type": "BN"}}
    args.update(kw)
    return UPerHead(**args)


def _feats() -> tuple[torch.Tensor, ...]:
    return tuple(torch.randn(2, c, 32 // 2**i, 32 // 2**i) for i, c in enumerate([4, 8, 12, 16]))


def test_forward_shapes_and_gradients() -> None:
    head = _head()
    out = head(_feats())
    assert out.shape == (2, 3, 32, 32)
    head.losses(out, torch.randint(0, 3, (2, 1, 64, 64)))["loss_ce"].backward()
    assert all(c.conv.weight.grad is not None for c in head.lateral_convs)
    assert head.psp_modules[0][1].conv.weight.grad is not None


def test_subset_of_levels_and_no_input_transform_argument() -> None:
    head = _head(in_channels=[8, 16], in_index=[1, 3])
    assert head(_feats()).shape == (2, 3, 16, 16)
    assert len(head.lateral_convs) == 1
    with pytest.raises(TypeError):
        build({"type": "UPerHead", "in_channels": [4, 8], "channels": 8, "num_classes": 3,
               "in_index": [0, 1], "input_transform": "resize_concat"}, "heads")


@pytest.mark.parametrize("config,in_channels", [
    ("upernet/upernet_r50_512x1024_40k_cityscapes.py", [256, 512, 1024, 2048]),
    ("swin/upernet_swin_tiny_patch4_window7_512x512_160k_ade20k_pretrain_224x224_1K.py", [96, 192, 384, 768]),
])
def test_keys_match_mmsegmentation_upernet(config: str, in_channels: list[int]) -> None:
    ref = reference_keys()[config]
    expected = {k[len("decode_head."):]: v for k, v in ref.items() if k.startswith("decode_head.")}
    head = _head(in_channels=in_channels, channels=512, num_classes=expected["conv_seg.bias"][0])
    assert {k: list(v.shape) for k, v in head.state_dict().items()} == expected
