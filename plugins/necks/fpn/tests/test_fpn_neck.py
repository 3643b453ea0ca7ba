"""Output levels, extra-level variants, gradients, MMDetection keys and registry build of FPN."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import torch
from segdet_neck_fpn import FPN
from torch import nn

from segdet.testing.shared import reference_keys

_IN = [4, 8, 12, 16]


def _inputs(h: int, w: int, channels: list[int] = _IN, batch: int = 2) -> list[torch.Tensor]:
    """ResNet-like C2..C5 maps of an ``h x w`` image: strides 4..32, sizes rounded up."""
    return [torch.randn(batch, c, math.ceil(h / 2 ** (i + 2)), math.ceil(w / 2 ** (i + 2)))
            for i, c in enumerate(channels)]


@pytest.mark.parametrize("size", [(64, 64), (63, 37), (33, 17)])
@pytest.mark.parametrize("extra", [False, True, "on_input", "on_lateral", "on_output"])
def test_retinanet_style_levels(size: tuple[int, int], extra: bool | str) -> None:
    fpn = FPN(_IN, 8, num_outs=5, start_level=1, add_extra_convs=extra)
    feats = _inputs(*size)
    outs = fpn(feats)
    assert len(outs) == 5 and fpn.out_channels == [8] * 5
    assert fpn.strides == [8, 16, 32, 64, 128]
    for out, feat in zip(outs[:3], feats[1:]):
        assert out.shape == (2, 8, *feat.shape[2:])
    for i in (3, 4):
        h, w = outs[i - 1].shape[2:]
        assert outs[i].shape == (2, 8, math.ceil(h / 2), math.ceil(w / 2))
    for out, stride in zip(outs, fpn.strides):  # the declared strides describe the real maps
        assert tuple(out.shape[2:]) == (math.ceil(size[0] / stride), math.ceil(size[1] / stride))


def test_no_extra_convs_uses_max_pool_of_last_output() -> None:
    fpn = FPN(_IN, 8, num_outs=5)
    outs = fpn(_inputs(64, 48))
    assert len(fpn.fpn_convs) == 4
    torch.testing.assert_close(outs[4], outs[3][:, :, ::2, ::2])
    assert fpn.strides == [4, 8, 16, 32, 64]


def test_extra_conv_sources_and_channels() -> None:
    on_input = FPN(_IN, 8, num_outs=5, start_level=1, add_extra_convs=True)
    assert on_input.add_extra_convs == "on_input"
    assert on_input.fpn_convs[3].conv.in_channels == 16 and on_input.fpn_convs[4].conv.in_channels == 8
    on_output = FPN(_IN, 8, num_outs=5, start_level=1, add_extra_convs="on_output")
    assert on_output.fpn_convs[3].conv.in_channels == 8


def test_relu_before_extra_convs_changes_only_later_extra_levels() -> None:
    torch.manual_seed(0)
    plain = FPN(_IN, 8, num_outs=5, start_level=1, add_extra_convs="on_output")
    relu = FPN(_IN, 8, num_outs=5, start_level=1, add_extra_convs="on_output", relu_before_extra_convs=True)
    relu.load_state_dict(plain.state_dict())
    feats = _inputs(64, 64)
    a, b = plain(feats), relu(feats)
    for i in range(4):
        torch.testing.assert_close(a[i], b[i])
    expected = relu.fpn_convs[4](torch.relu(b[3]))
    torch.testing.assert_close(b[4], expected)
    assert not torch.allclose(a[4], b[4])


def test_top_down_pathway_sums_upsampled_coarser_levels() -> None:
    fpn = FPN([2, 2], 2, num_outs=2)
    for m in fpn.modules():  # identity laterals and output convs make the pathway visible
        if isinstance(m, nn.Conv2d):
            nn.init.zeros_(m.weight)
            nn.init.zeros_(m.bias)
            c = m.weight.shape[-1] // 2
            for k in range(2):
                m.weight.data[k, k, c, c] = 1.0
    fine, coarse = torch.randn(1, 2, 5, 7), torch.randn(1, 2, 3, 4)
    out_fine, out_coarse = fpn([fine, coarse])
    torch.testing.assert_close(out_coarse, coarse)
    torch.testing.assert_close(out_fine, fine + nn.functional.interpolate(coarse, size=(5, 7), mode="nearest"))


def test_end_level_restricts_inputs_and_forbids_extra_levels() -> None:
    fpn = FPN(_IN, 8, num_outs=2, start_level=1, end_level=2)
    outs = fpn(_inputs(64, 64))
    assert [o.shape[-1] for o in outs] == [8, 4] and fpn.strides == [8, 16]
    with pytest.raises(ValueError, match="num_outs must be 2"):
        FPN(_IN, 8, num_outs=3, start_level=1, end_level=2)


@pytest.mark.parametrize("kwargs, message", [
    (dict(num_outs=2), "smaller than"),
    (dict(num_outs=5, add_extra_convs="on_top"), "add_extra_convs"),
    (dict(num_outs=5, start_level=4), "start_level"),
    (dict(num_outs=5, in_strides=[8, 16]), "in_strides"),
])
def test_invalid_arguments_say_what_is_wrong(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FPN(_IN, 8, **kwargs)


def test_wrong_number_of_inputs_is_reported() -> None:
    with pytest.raises(ValueError, match="4 input levels"):
        FPN(_IN, 8, num_outs=5)(_inputs(32, 32)[:3])


def test_in_strides_give_output_strides() -> None:
    fpn = FPN([8, 12, 16], 8, num_outs=5, add_extra_convs="on_input", in_strides=[8, 16, 32])
    assert fpn.strides == [8, 16, 32, 64, 128]
    assert FPN([8, 12, 16], 8, num_outs=3).strides == [8, 16, 32]


def test_norm_cfg_and_no_norm_on_lateral() -> None:
    gn = dict(type="GN", num_groups=2)
    fpn = FPN(_IN, 8, num_outs=5, start_level=1, add_extra_convs="on_output", norm_cfg=gn,
              act_cfg=dict(type="ReLU"), no_norm_on_lateral=True)
    keys = fpn.state_dict().keys()
    assert "lateral_convs.0.conv.bias" in keys and "lateral_convs.0.gn.weight" not in keys
    assert "fpn_convs.0.gn.weight" in keys and "fpn_convs.0.conv.bias" not in keys
    outs = fpn(_inputs(40, 40))
    assert all(o.min() >= 0 for o in outs)  # every output conv ends in ReLU


@pytest.mark.parametrize("extra", [False, "on_input", "on_lateral", "on_output"])
def test_gradients_reach_every_parameter_and_input(extra: bool | str) -> None:
    fpn = FPN(_IN, 8, num_outs=5, start_level=1, add_extra_convs=extra, relu_before_extra_convs=True)
    feats = [f.requires_grad_() for f in _inputs(32, 32)]
    sum(o.pow(2).mean() for o in fpn(feats)).backward()
    for name, p in fpn.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert feats[0].grad is None and all(f.grad.abs().sum() > 0 for f in feats[1:])


def test_scale_factor_upsampling() -> None:
    fpn = FPN(_IN, 8, num_outs=4, upsample_cfg=dict(scale_factor=2, mode="bilinear", align_corners=False))
    outs = fpn(_inputs(64, 64))
    assert [o.shape[-1] for o in outs] == [16, 8, 4, 2]


_MMDET_NECKS: dict[str, dict[str, Any]] = {
    "retinanet/retinanet_r50_fpn_1x_coco.py": dict(
        in_channels=[256, 512, 1024, 2048], start_level=1, add_extra_convs="on_input", num_outs=5),
    "atss/atss_r50_fpn_1x_coco.py": dict(
        in_channels=[256, 512, 1024, 2048], start_level=1, add_extra_convs="on_output", num_outs=5),
    "fcos/fcos_r50_caffe_fpn_gn-head_1x_coco.py": dict(
        in_channels=[256, 512, 1024, 2048], start_level=1, add_extra_convs="on_output", num_outs=5,
        relu_before_extra_convs=True),
    "faster_rcnn/faster_rcnn_r50_fpn_1x_coco.py": dict(in_channels=[256, 512, 1024, 2048], num_outs=5),
    "mask_rcnn/mask_rcnn_r50_fpn_1x_coco.py": dict(in_channels=[256, 512, 1024, 2048], num_outs=5),
    "cascade_rcnn/cascade_rcnn_r50_fpn_1x_coco.py": dict(in_channels=[256, 512, 1024, 2048], num_outs=5),
    "retinanet/retinanet_r18_fpn_1x_coco.py": dict(
        in_channels=[64, 128, 256, 512], start_level=1, add_extra_convs="on_input", num_outs=5),
    "swin/mask_rcnn_swin-t-p4-w7_fpn_1x_coco.py": dict(in_channels=[96, 192, 384, 768], num_outs=5),
}


@pytest.mark.parametrize("config", sorted(_MMDET_NECKS))
def test_neck_keys_and_shapes_match_mmdetection(config: str) -> None:
    reference = reference_keys()[config]
    expected = {k[len("neck."):]: tuple(v) for k, v in reference.items() if k.startswith("neck.")}
    got = {k: tuple(v.shape) for k, v in FPN(out_channels=256, **_MMDET_NECKS[config]).state_dict().items()}
    assert got == expected


def test_pretrained_init_cfg_loads_neck_weights(tmp_path: Path) -> None:
    src = FPN(_IN, 8, num_outs=5, start_level=1, add_extra_convs="on_input")
    path = tmp_path / "det.pth"
    torch.save({"state_dict": {f"neck.{k}": v + 1 for k, v in src.state_dict().items()}}, path)
    fpn = FPN(_IN, 8, num_outs=5, start_level=1, add_extra_convs="on_input",
              init_cfg=dict(type="Pretrained", checkpoint=str(path), prefix="neck."))
    assert not torch.allclose(fpn.fpn_convs[4].conv.bias, src.fpn_convs[4].conv.bias + 1)
    fpn.init_weights()
    torch.testing.assert_close(fpn.fpn_convs[4].conv.bias, src.fpn_convs[4].conv.bias + 1)


def test_build_through_the_registry() -> None:
    from segdet.api import build

    fpn = build(dict(type="FPN", in_channels=_IN, out_channels=8, num_outs=5, add_extra_convs=True), "necks")
    assert isinstance(fpn, FPN) and len(fpn(_inputs(32, 32))) == 5
