"""CornerNet Hourglass-104 has MMDetection 2.x's parameter names and shapes, so its checkpoint loads.

The shared reference file has no CornerNet entry, so the expected state dict is derived here,
independently of the plugin code, from the upstream module definitions
(mmdet/models/backbones/hourglass.py, mmdet/models/utils/res_layer.py, mmdet/models/backbones/
resnet.py BasicBlock, mmdet/models/dense_heads/corner_head.py, mmcv ConvModule / CornerPool):

- a BN layer has 5 entries (weight, bias, running_mean, running_var, num_batches_tracked);
  ``ConvModule`` with BN: ``conv.weight`` + ``bn.*`` = 6; without norm: ``conv.weight``, ``conv.bias``;
- ``BasicBlock``: ``conv1.weight``, ``bn1.*``, ``conv2.weight``, ``bn2.*`` = 12, plus
  ``downsample.0.weight`` and ``downsample.1.*`` (= 18) when stride or width change;
- ``ResLayer(inplanes, planes, n, downsample_first)``: ``n`` blocks (at least one), the shape
  change in the first block (encoder) or the last (``low3``);
- ``HourglassModule(depth)``: ``up1``, ``low1`` (stride 2), ``low2`` (nested module, or a
  ResLayer at depth 1), ``low3``;
- ``HourglassNet``: ``stem.0`` ConvModule 7x7 (3 -> 128), ``stem.1`` ResLayer (128 -> 256, stride 2),
  ``hourglass_modules.{0,1}``, ``inters`` (1 block), ``conv1x1s.0``, ``out_convs.{0,1}``,
  ``remap_convs.0``;
- ``CornerHead`` per level and corner: ``*_pool`` BiCornerPool (``direction1_conv``,
  ``direction2_conv``, ``aftpool_conv``, ``conv1``, ``conv2``: 5 ConvModules with BN, CornerPool has
  no parameters), and ``*_heat`` / ``*_emb`` / ``*_off``: ``0`` ConvModule 3x3 256 -> 256 without
  norm (conv bias), ``1`` ConvModule 1x1 without norm.

Counts this derivation gives (and the test checks): backbone 960 entries, of which
``hourglass_modules.0`` 450 and ``stem`` 24; head 168 (``tl_pool.0`` 30, ``tl_heat.0`` 4).
Exact shapes checked: ``backbone.stem.0.conv.weight`` (128, 3, 7, 7),
``backbone.hourglass_modules.0.low1.0.downsample.0.weight`` (256, 256, 1, 1) (stride 2),
``...low2.low1.0.downsample.0.weight`` (384, 256, 1, 1), the bottom
``...low2.low2.low2.low2.low2.3.conv1.weight`` (512, 512, 3, 3),
``bbox_head.tl_pool.0.direction1_conv.conv.weight`` (128, 256, 3, 3),
``bbox_head.tl_pool.0.aftpool_conv.conv.weight`` (256, 128, 3, 3),
``bbox_head.tl_heat.1.1.conv.weight`` (80, 256, 1, 1), ``bbox_head.br_emb.0.1.conv.bias`` (1,).
The model is built on the ``meta`` device: no memory for its 200M parameters.
"""
from __future__ import annotations

from pathlib import Path

import torch

from segdet import Config, build_model

_ROOT = Path(__file__).resolve().parents[4]
_CONFIG = _ROOT / "configs" / "cornernet" / "cornernet_hourglass104_mstest_10x48b_coco.py"
_BN = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def _bn(prefix: str, c: int) -> dict[str, tuple[int, ...]]:
    return {f"{prefix}.{k}": (() if k == "num_batches_tracked" else (c,)) for k in _BN}


def _conv_module(prefix: str, cin: int, cout: int, k: int, norm: bool) -> dict[str, tuple[int, ...]]:
    out = {f"{prefix}.conv.weight": (cout, cin, k, k)}
    if norm:
        out.update(_bn(f"{prefix}.bn", cout))
    else:
        out[f"{prefix}.conv.bias"] = (cout,)
    return out


def _block(prefix: str, cin: int, cout: int, stride: int) -> dict[str, tuple[int, ...]]:
    out = {f"{prefix}.conv1.weight": (cout, cin, 3, 3), f"{prefix}.conv2.weight": (cout, cout, 3, 3)}
    out.update(_bn(f"{prefix}.bn1", cout))
    out.update(_bn(f"{prefix}.bn2", cout))
    if stride != 1 or cin != cout:
        out[f"{prefix}.downsample.0.weight"] = (cout, cin, 1, 1)
        out.update(_bn(f"{prefix}.downsample.1", cout))
    return out


def _res_layer(prefix: str, cin: int, cout: int, n: int, stride: int = 1,
               downsample_first: bool = True) -> dict[str, tuple[int, ...]]:
    out: dict[str, tuple[int, ...]] = {}
    n = max(n, 1)
    for i in range(n):
        if downsample_first:
            out.update(_block(f"{prefix}.{i}", cin if i == 0 else cout, cout, stride if i == 0 else 1))
        else:
            last = i == n - 1
            out.update(_block(f"{prefix}.{i}", cin, cout if last else cin, stride if last else 1))
    return out


def _hourglass(prefix: str, depth: int, chans: list[int], blocks: list[int]) -> dict[str, tuple[int, ...]]:
    out = _res_layer(f"{prefix}.up1", chans[0], chans[0], blocks[0])
    out.update(_res_layer(f"{prefix}.low1", chans[0], chans[1], blocks[0], stride=2))
    if depth > 1:
        out.update(_hourglass(f"{prefix}.low2", depth - 1, chans[1:], blocks[1:]))
    else:
        out.update(_res_layer(f"{prefix}.low2", chans[1], chans[1], blocks[1]))
    out.update(_res_layer(f"{prefix}.low3", chans[1], chans[0], blocks[0], downsample_first=False))
    return out


def _expected() -> dict[str, tuple[int, ...]]:
    chans, blocks, feat = [256, 256, 384, 384, 384, 512], [2, 2, 2, 2, 2, 4], 256
    bb = _conv_module("backbone.stem.0", 3, 128, 7, True)
    bb.update(_res_layer("backbone.stem.1", 128, 256, 1, stride=2))
    for s in range(2):
        bb.update(_hourglass(f"backbone.hourglass_modules.{s}", 5, chans, blocks))
        bb.update(_conv_module(f"backbone.out_convs.{s}", 256, feat, 3, True))
    bb.update(_res_layer("backbone.inters", 256, 256, 1))
    bb.update(_conv_module("backbone.conv1x1s.0", 256, 256, 1, True))
    bb.update(_conv_module("backbone.remap_convs.0", feat, 256, 1, True))
    head: dict[str, tuple[int, ...]] = {}
    for lvl in range(2):
        for corner in ("tl", "br"):
            p = f"bbox_head.{corner}_pool.{lvl}"
            head.update(_conv_module(f"{p}.direction1_conv", 256, 128, 3, True))
            head.update(_conv_module(f"{p}.direction2_conv", 256, 128, 3, True))
            head.update(_conv_module(f"{p}.aftpool_conv", 128, 256, 3, True))
            head.update(_conv_module(f"{p}.conv1", 256, 256, 1, True))
            head.update(_conv_module(f"{p}.conv2", 256, 256, 3, True))
            for name, out in (("heat", 80), ("emb", 1), ("off", 2)):
                head.update(_conv_module(f"bbox_head.{corner}_{name}.{lvl}.0", 256, 256, 3, False))
                head.update(_conv_module(f"bbox_head.{corner}_{name}.{lvl}.1", 256, out, 1, False))
    return {**bb, **head}


def test_hourglass104_cornernet_state_dict_matches_mmdetection() -> None:
    cfg = Config.fromfile(str(_CONFIG))
    with torch.device("meta"):
        model = build_model(cfg.model)
    got = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    expected = _expected()
    assert sorted(set(got) - set(expected)) == []
    assert sorted(set(expected) - set(got)) == []
    assert got == expected

    def count(prefix: str) -> int:
        return sum(k.startswith(prefix) for k in got)
    assert (count("backbone."), count("backbone.hourglass_modules.0."), count("backbone.stem.")) == (960, 450, 24)
    assert (count("bbox_head."), count("bbox_head.tl_pool.0."), count("bbox_head.tl_heat.0.")) == (168, 30, 4)
    assert got["backbone.stem.0.conv.weight"] == (128, 3, 7, 7)
    assert got["backbone.hourglass_modules.0.low1.0.downsample.0.weight"] == (256, 256, 1, 1)
    assert got["backbone.hourglass_modules.0.low2.low1.0.downsample.0.weight"] == (384, 256, 1, 1)
    assert got["backbone.hourglass_modules.0.low2.low2.low2.low2.low2.3.conv1.weight"] == (512, 512, 3, 3)
    assert got["bbox_head.tl_pool.0.direction1_conv.conv.weight"] == (128, 256, 3, 3)
    assert got["bbox_head.tl_pool.0.aftpool_conv.conv.weight"] == (256, 128, 3, 3)
    assert got["bbox_head.tl_heat.1.1.conv.weight"] == (80, 256, 1, 1)
    assert got["bbox_head.br_emb.0.1.conv.bias"] == (1,)
