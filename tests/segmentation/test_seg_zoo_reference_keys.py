"""DeepLabV3, DeepLabV3+, Semantic FPN and OCRNet configs build models with MMSegmentation 0.x's
state-dict keys and shapes, so published checkpoints load with strict=True.

../shared/reference has no entry for these four models, so the reference is assembled from facts:
- ``backbone.*`` (ResNetV1c-50; dilations and strides change no shape) and the FCN ``auxiliary_head.*``
  (same config as PSPNet's) are taken from the reference entry of
  ``pspnet/pspnet_r50-d8_512x1024_40k_cityscapes.py``; for OCRNet the FCN is ``decode_head.0``.
- ResNet-101 differs from ResNet-50 only in ``layer3`` having 23 blocks instead of 6 (MMCV/MMSeg
  ``arch_settings``: 50 -> (3, 4, 6, 3), 101 -> (3, 4, 23, 3)); blocks 6..22 repeat block 5's shapes.
- The decode heads' keys are written out from MMSegmentation 0.x's module definitions, read with the
  search tool: ``decode_heads/aspp_head.py``, ``sep_aspp_head.py`` (with MMCV's
  ``DepthwiseSeparableConvModule``: ``depthwise_conv`` = ``ConvModule(in, in, k, groups=in)``,
  ``pointwise_conv`` = ``ConvModule(in, out, 1)``), ``fpn_head.py``, ``ocr_head.py`` +
  ``utils/self_attention_block.py``; the FPN neck's from MMDetection's ``FPN`` (1x1 lateral and 3x3
  output ``ConvModule`` s without norm, so with bias) as in the RetinaNet reference entry.
- OCRNet HRNet-W18: ``backbone.*`` and the FCN head are those of segdet's
  ``configs/hrnet/fcn_hr18_512x1024_40k_cityscapes.py`` model (checked against MMSegmentation by the
  HRNet tests), the FCN moving to ``decode_head.0``; the OCR head is the R-50 one with a 3x3 bottleneck
  from the 270 concatenated channels (``input_transform='resize_concat'``).
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from segdet.config import Config
from segdet.models.builder import build_model
from segdet.testing.shared import reference_keys

REPO = Path(__file__).resolve().parents[2]
Keys = dict[str, list[int]]


def _psp() -> Keys:
    return reference_keys()["pspnet/pspnet_r50-d8_512x1024_40k_cityscapes.py"]


def _part(ref: Keys, prefix: str, new_prefix: str | None = None) -> Keys:
    out = new_prefix if new_prefix is not None else prefix
    return {out + k[len(prefix):]: v for k, v in ref.items() if k.startswith(prefix)}


def _bn(p: str, c: int) -> Keys:
    return {f"{p}.weight": [c], f"{p}.bias": [c], f"{p}.running_mean": [c], f"{p}.running_var": [c],
            f"{p}.num_batches_tracked": []}


def _conv(p: str, cout: int, cin: int, k: int) -> Keys:
    return {f"{p}.conv.weight": [cout, cin, k, k], **_bn(f"{p}.bn", cout)}


def _sep(p: str, cin: int, cout: int) -> Keys:
    return {f"{p}.depthwise_conv.conv.weight": [cin, 1, 3, 3], **_bn(f"{p}.depthwise_conv.bn", cin),
            **_conv(f"{p}.pointwise_conv", cout, cin, 1)}


def _aspp_common(p: str) -> Keys:
    return {f"{p}.conv_seg.weight": [19, 512, 1, 1], f"{p}.conv_seg.bias": [19],
            **_conv(f"{p}.image_pool.1", 512, 2048, 1), **_conv(f"{p}.aspp_modules.0", 512, 2048, 1)}


def _deeplabv3() -> Keys:
    keys = {**_aspp_common("decode_head"), **_conv("decode_head.bottleneck", 512, 2560, 3)}
    for i in (1, 2, 3):
        keys.update(_conv(f"decode_head.aspp_modules.{i}", 512, 2048, 3))
    return keys


def _deeplabv3plus() -> Keys:
    keys = {**_aspp_common("decode_head"), **_sep("decode_head.bottleneck", 2560, 512),
            **_conv("decode_head.c1_bottleneck", 48, 256, 1),
            **_sep("decode_head.sep_bottleneck.0", 560, 512), **_sep("decode_head.sep_bottleneck.1", 512, 512)}
    for i in (1, 2, 3):
        keys.update(_sep(f"decode_head.aspp_modules.{i}", 2048, 512))
    return keys


def _semantic_fpn() -> Keys:
    keys: Keys = {"decode_head.conv_seg.weight": [19, 128, 1, 1], "decode_head.conv_seg.bias": [19]}
    for level, (convs, cin) in enumerate(zip((1, 1, 2, 3), (256, 512, 1024, 2048))):
        keys[f"neck.lateral_convs.{level}.conv.weight"] = [256, cin, 1, 1]
        keys[f"neck.lateral_convs.{level}.conv.bias"] = [256]
        keys[f"neck.fpn_convs.{level}.conv.weight"] = [256, 256, 3, 3]
        keys[f"neck.fpn_convs.{level}.conv.bias"] = [256]
        for k in range(convs):
            keys.update(_conv(f"decode_head.scale_heads.{level}.{2 * k}", 128, 256 if k == 0 else 128, 3))
    return keys


def _ocr(p: str = "decode_head.1") -> Keys:
    b = f"{p}.object_context_block"
    keys = {f"{p}.conv_seg.weight": [19, 512, 1, 1], f"{p}.conv_seg.bias": [19],
            **_conv(f"{p}.bottleneck", 512, 2048, 3), **_conv(f"{b}.value_project", 256, 512, 1),
            **_conv(f"{b}.out_project", 512, 256, 1), **_conv(f"{b}.bottleneck", 512, 1024, 1)}
    for proj in ("key_project", "query_project"):
        keys.update(_conv(f"{b}.{proj}.0", 256, 512, 1))
        keys.update(_conv(f"{b}.{proj}.1", 256, 256, 1))
    return keys


def _ocr_hr18(cfg_opts: dict[str, None]) -> Keys:
    fcn = Config.fromfile(str(REPO / "configs" / "hrnet" / "fcn_hr18_512x1024_40k_cityscapes.py"), cfg_options=cfg_opts)
    base = {k: list(v.shape) for k, v in build_model(fcn.model).state_dict().items()}
    ocr = _ocr()
    ocr["decode_head.1.bottleneck.conv.weight"] = [512, 270, 3, 3]
    return {**_part(base, "backbone."), **_part(base, "decode_head.", "decode_head.0."), **ocr}


def _r101(backbone: Keys) -> Keys:
    out = dict(backbone)
    block5 = {k: v for k, v in backbone.items() if k.startswith("backbone.layer3.5.")}
    for i in range(6, 23):
        out.update({re.sub(r"^backbone\.layer3\.5\.", f"backbone.layer3.{i}.", k): v for k, v in block5.items()})
    return out


def _expected(config: str) -> Keys:
    ref = _psp()
    backbone, aux = _part(ref, "backbone."), _part(ref, "auxiliary_head.")
    if config.startswith("deeplabv3/"):
        return {**backbone, **aux, **_deeplabv3()}
    if config.startswith("deeplabv3plus/"):
        return {**backbone, **aux, **_deeplabv3plus()}
    if config.startswith("sem_fpn/"):
        return {**backbone, **_semantic_fpn()}
    assert config.startswith("ocrnet/ocrnet_r101")
    return {**_r101(backbone), **_part(ref, "auxiliary_head.", "decode_head.0."), **_ocr()}


def _compare(config: str) -> None:
    opts = {"model.backbone.init_cfg": None, "model.pretrained": None}
    cfg = Config.fromfile(str(REPO / "configs" / config), cfg_options=opts)
    got = {k: list(v.shape) for k, v in build_model(cfg.model).state_dict().items()}
    ref = _ocr_hr18(opts) if config.startswith("ocrnet/ocrnet_hr18") else _expected(config)
    assert sorted(set(ref) - set(got)) == [], "keys missing"
    assert sorted(set(got) - set(ref)) == [], "unexpected keys"
    assert {k: (v, ref[k]) for k, v in got.items() if ref[k] != v} == {}, "shapes differ (got, expected)"


@pytest.mark.parametrize("config", [
    "deeplabv3/deeplabv3_r50-d8_512x1024_40k_cityscapes.py",
    "deeplabv3plus/deeplabv3plus_r50-d8_512x1024_40k_cityscapes.py",
    "sem_fpn/fpn_r50_512x1024_80k_cityscapes.py",
    "ocrnet/ocrnet_hr18_512x1024_40k_cityscapes.py",
])
def test_keys_and_shapes_equal_mmsegmentation(config: str) -> None:
    _compare(config)


@pytest.mark.slow
def test_ocrnet_r101_keys_and_shapes_equal_mmsegmentation() -> None:
    _compare("ocrnet/ocrnet_r101-d8_512x1024_40k_b8_cityscapes.py")
