"""FPNHead (Semantic FPN): shapes, gradients, the per-level conv/upsample towers, MMSegmentation's names.

The expected keys are written out from MMSegmentation 0.x's ``mmseg/models/decode_heads/fpn_head.py``
(found with the search tool): level ``i`` is a ``Sequential`` of ``max(1, log2(s_i / s_0))`` 3x3
``ConvModule`` s (first ``in_channels[i] -> channels``), each followed by a parameter-free ``Upsample``
when ``s_i != s_0``, so convs sit at even indices. ../shared/reference has no Semantic FPN entry.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
from segdet_head_semfpn import FPNHead

from segdet.api import ConvModule, build
from segdet.testing import PixelCrossEntropy, registered


@pytest.fixture(autouse=True)
def _loss() -> Iterator[None]:
    with registered("losses", "SemFPNTestCE", PixelCrossEntropy):
        yield


def _head(**kw: object) -> FPNHead:
    args: dict = {"in_channels": [8, 8, 8, 8], "in_index": [0, 1, 2, 3], "feature_strides": [4, 8, 16, 32],
                  "channels": 8, "num_classes": 3, "loss_decode": {"type": "SemFPNTestCE"}, "norm_cfg": {"type": "BN"}}
    args.update(kw)
    return FPNHead(**args)


def _pyramid(size: int = 64, channels: int = 8) -> tuple[torch.Tensor, ...]:
    return tuple(torch.randn(2, channels, size // s, size // s, requires_grad=True) for s in (4, 8, 16, 32))


def test_output_at_finest_level_and_gradients_reach_every_level() -> None:
    torch.manual_seed(0)
    head = _head()
    maps = _pyramid()
    out = head(maps)
    assert out.shape == (2, 3, 16, 16)
    head.losses(out, torch.randint(0, 3, (2, 1, 64, 64)))["loss_ce"].backward()
    for x in maps:
        assert x.grad is not None and x.grad.abs().sum() > 0
    for name, p in head.named_parameters():
        assert p.grad is not None, name


def test_tower_depth_follows_the_stride_ratio() -> None:
    head = _head()
    kinds = [[type(m).__name__ for m in tower] for tower in head.scale_heads]
    assert kinds == [["ConvModule"], ["ConvModule", "_Upsample2x"], ["ConvModule", "_Upsample2x"] * 2,
                     ["ConvModule", "_Upsample2x"] * 3]
    # every tower brings its level to the finest resolution
    maps = _pyramid()
    for tower, x in zip(head.scale_heads, maps):
        assert tower(x).shape[2:] == (16, 16)
    assert isinstance(head.scale_heads[3][4], ConvModule)


def test_selects_maps_by_in_index_and_validates_strides() -> None:
    head = _head(in_channels=[8, 8], in_index=[1, 3], feature_strides=[8, 32])
    maps = _pyramid()
    assert head(maps).shape == (2, 3, 8, 8)
    with pytest.raises(ValueError, match="same length"):
        _head(feature_strides=[4, 8, 16])
    with pytest.raises(ValueError, match="finest first"):
        _head(feature_strides=[8, 4, 16, 32])
    with pytest.raises(ValueError, match="powers of 2"):
        _head(feature_strides=[4, 8, 12, 32])


def test_built_by_name_without_input_transform() -> None:
    head = build({"type": "FPNHead", "in_channels": [8, 8], "in_index": [0, 1], "feature_strides": [4, 8],
                  "channels": 8, "num_classes": 3, "loss_decode": {"type": "SemFPNTestCE"}}, "heads")
    assert head.input_transform == "multiple_select"


def _bn(prefix: str, c: int) -> dict[str, list[int]]:
    return {f"{prefix}.weight": [c], f"{prefix}.bias": [c], f"{prefix}.running_mean": [c],
            f"{prefix}.running_var": [c], f"{prefix}.num_batches_tracked": []}


def mmseg_fpn_head_keys(num_classes: int = 19) -> dict[str, list[int]]:
    """decode_head.* of sem_fpn fpn_r50 (4 levels of 256 channels, strides 4-32, channels 128)."""
    keys: dict[str, list[int]] = {"conv_seg.weight": [num_classes, 128, 1, 1], "conv_seg.bias": [num_classes]}
    for level, convs in enumerate((1, 1, 2, 3)):
        for k in range(convs):
            keys[f"scale_heads.{level}.{2 * k}.conv.weight"] = [128, 256 if k == 0 else 128, 3, 3]
            keys.update(_bn(f"scale_heads.{level}.{2 * k}.bn", 128))
    return keys


def test_keys_match_mmsegmentation_semantic_fpn() -> None:
    head = _head(in_channels=[256] * 4, channels=128, num_classes=19)
    got = {k: list(v.shape) for k, v in head.state_dict().items()}
    assert got == mmseg_fpn_head_keys()
