"""OCRHead: shapes, gradients, the soft region gathering, OCRNet in a CascadeEncoderDecoder, MMSegmentation's names.

The expected keys are written out from MMSegmentation 0.x's ``mmseg/models/decode_heads/ocr_head.py`` and
``mmseg/models/utils/self_attention_block.py`` (found with the search tool): the OCR block is a
``SelfAttentionBlock`` with two-conv key/query projections (``Sequential`` of 1x1 ``ConvModule`` s),
one-conv value/out projections (bare ``ConvModule``), ``channels -> ocr_channels`` and back, plus a
``bottleneck`` ``ConvModule(2 * channels, channels, 1)``; the head's own ``bottleneck`` is a 3x3
``ConvModule(in_channels, channels)``. ../shared/reference has no OCRNet entry.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
from segdet_head_ocr import OCRHead
from segdet_head_ocr.object_attention import ObjectAttentionBlock, SpatialGatherModule
from torch import nn

from segdet import build_model
from segdet.api import build
from segdet.testing import PixelCrossEntropy, registered


class _TinyBackbone(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 8, 3, 2, 1)
        self.b = nn.Conv2d(8, 16, 3, 1, 1)
        self.out_channels = [8, 16]
        self.strides = [2, 2]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a = torch.relu(self.a(x))
        return a, torch.relu(self.b(a))


@pytest.fixture(autouse=True)
def _standins() -> Iterator[None]:
    with registered("losses", "OCRTestCE", PixelCrossEntropy), registered("backbones", "OCRTestBackbone", _TinyBackbone):
        yield


def _head(**kw: object) -> OCRHead:
    args: dict = {"in_channels": 16, "channels": 8, "ocr_channels": 4, "num_classes": 3,
                  "loss_decode": {"type": "OCRTestCE"}, "norm_cfg": {"type": "BN"}}
    args.update(kw)
    return OCRHead(**args)


def test_forward_shapes_and_gradients_into_prev_output() -> None:
    torch.manual_seed(0)
    head = _head()
    feats = (torch.randn(2, 16, 12, 10, requires_grad=True),)
    prev = torch.randn(2, 3, 12, 10, requires_grad=True)
    out = head(feats, prev)
    assert out.shape == (2, 3, 12, 10)
    losses = head.forward_train(feats, prev, [{}] * 2, torch.randint(0, 3, (2, 1, 24, 20)))
    assert set(losses) == {"loss_ce", "acc_seg"}
    losses["loss_ce"].backward()
    assert prev.grad is not None and prev.grad.abs().sum() > 0
    assert feats[0].grad is not None and feats[0].grad.abs().sum() > 0
    for name, p in head.named_parameters():
        assert p.grad is not None, name
    # a coarser prev_output is resized to the features
    assert head(feats, torch.randn(2, 3, 6, 5)).shape == (2, 3, 12, 10)


def test_spatial_gather_is_a_softmax_weighted_mean_per_class() -> None:
    torch.manual_seed(0)
    feats, probs = torch.randn(2, 5, 4, 3), torch.randn(2, 3, 4, 3)
    got = SpatialGatherModule(scale=2.0)(feats, probs)
    assert got.shape == (2, 5, 3, 1)
    for n in range(2):
        for k in range(3):
            w = torch.softmax(2.0 * probs[n, k].flatten(), 0)
            torch.testing.assert_close(got[n, :, k, 0], (feats[n].flatten(1) * w).sum(1))


def test_object_attention_with_one_region_passes_its_value_everywhere() -> None:
    # with a single region the attention weights are all 1: every pixel receives the same context
    block = ObjectAttentionBlock(6, 4, norm_cfg=None).eval()
    query, key = torch.randn(1, 6, 5, 5), torch.randn(1, 6, 1, 1)
    with torch.no_grad():
        context = block.out_project(block.value_project(key)).expand(1, 6, 5, 5)
        want = block.bottleneck(torch.cat([context, query], dim=1))
        torch.testing.assert_close(block(query, key), want)
    # scale > 1 downsamples the queries and still returns the query size
    assert ObjectAttentionBlock(6, 4, scale=2)(torch.randn(2, 6, 8, 8), torch.randn(2, 6, 3, 1)).shape == (2, 6, 8, 8)


def test_ocrnet_cascade_model_trains_and_tests() -> None:
    torch.manual_seed(0)
    ce = {"type": "OCRTestCE"}
    model = build_model({
        "type": "CascadeEncoderDecoder", "num_stages": 2, "backbone": {"type": "OCRTestBackbone"},
        "decode_head": [
            {"type": "FCNHead", "in_index": 0, "channels": 8, "num_convs": 1, "concat_input": False,
             "num_classes": 3, "loss_decode": ce},
            {"type": "OCRHead", "in_index": 1, "channels": 8, "ocr_channels": 4, "num_classes": 3,
             "norm_cfg": {"type": "BN"}, "loss_decode": ce},
        ]})
    assert model.decode_head[1].in_channels == 16  # filled from the backbone
    metas = [{"img_shape": (32, 32, 3), "ori_shape": (32, 32, 3), "pad_shape": (32, 32, 3), "flip": False}] * 2
    out = model.train_step({"img": torch.randn(2, 3, 32, 32), "img_metas": metas,
                            "gt_semantic_seg": torch.randint(0, 3, (2, 1, 32, 32))})
    assert {"decode_0.loss_ce", "decode_1.loss_ce"} <= set(out["log_vars"])
    out["loss"].backward()
    assert model.decode_head[1].object_context_block.key_project[0].conv.weight.grad is not None
    model.eval()
    with torch.no_grad():
        preds = model.simple_test(torch.randn(2, 3, 32, 32), metas)
    assert [tuple(p.shape) for p in preds] == [(32, 32), (32, 32)]


def test_built_by_name_and_bad_arguments() -> None:
    head = build({"type": "OCRHead", "in_channels": 16, "channels": 8, "ocr_channels": 4, "num_classes": 3,
                  "loss_decode": {"type": "OCRTestCE"}}, "heads")
    assert isinstance(head, OCRHead)
    with pytest.raises(ValueError, match="ocr_channels"):
        _head(ocr_channels=0)


def _bn(prefix: str, c: int) -> dict[str, list[int]]:
    return {f"{prefix}.weight": [c], f"{prefix}.bias": [c], f"{prefix}.running_mean": [c],
            f"{prefix}.running_var": [c], f"{prefix}.num_batches_tracked": []}


def mmseg_ocr_head_keys(num_classes: int = 19) -> dict[str, list[int]]:
    """decode_head.1.* of ocrnet_r50-d8 (in 2048, channels 512, ocr_channels 256)."""
    keys: dict[str, list[int]] = {
        "conv_seg.weight": [num_classes, 512, 1, 1], "conv_seg.bias": [num_classes],
        "bottleneck.conv.weight": [512, 2048, 3, 3], **_bn("bottleneck.bn", 512),
        "object_context_block.value_project.conv.weight": [256, 512, 1, 1],
        **_bn("object_context_block.value_project.bn", 256),
        "object_context_block.out_project.conv.weight": [512, 256, 1, 1],
        **_bn("object_context_block.out_project.bn", 512),
        "object_context_block.bottleneck.conv.weight": [512, 1024, 1, 1],
        **_bn("object_context_block.bottleneck.bn", 512),
    }
    for proj in ("key_project", "query_project"):
        keys[f"object_context_block.{proj}.0.conv.weight"] = [256, 512, 1, 1]
        keys.update(_bn(f"object_context_block.{proj}.0.bn", 256))
        keys[f"object_context_block.{proj}.1.conv.weight"] = [256, 256, 1, 1]
        keys.update(_bn(f"object_context_block.{proj}.1.bn", 256))
    return keys


def test_keys_match_mmsegmentation_ocrnet() -> None:
    head = _head(in_channels=2048, channels=512, ocr_channels=256, num_classes=19, in_index=3)
    got = {k: list(v.shape) for k, v in head.state_dict().items()}
    assert got == mmseg_ocr_head_keys()
