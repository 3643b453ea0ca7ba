"""SingleRoIExtractor: level mapping against hand-computed values, output equal to torchvision's roi_align."""
from __future__ import annotations

import pytest
import torch
from torchvision.ops import roi_align, roi_pool

from segdet.errors import ConfigError
from segdet.registry import build

STRIDES = [4, 8, 16, 32]


def _extractor(**roi_layer) -> torch.nn.Module:
    layer = {"type": "RoIAlign", "output_size": 7, "sampling_ratio": 0, "aligned": True, **roi_layer}
    return build({"type": "SingleRoIExtractor", "roi_layer": layer, "out_channels": 4,
                  "featmap_strides": STRIDES}, "task_modules")


def _rois(sizes: list[tuple[float, float]], batch_ids: list[int] | None = None) -> torch.Tensor:
    ids = batch_ids or [0] * len(sizes)
    return torch.tensor([[float(b), 3.0, 5.0, 3.0 + w, 5.0 + h] for b, (w, h) in zip(ids, sizes)])


def test_level_mapping_hand_computed():
    ext = _extractor()
    # scale = sqrt(w * h); level = floor(log2(scale / 56 + 1e-6)) clamped to [0, 3]
    sizes = [(20, 20), (111, 111), (112, 112), (56, 224), (223, 223), (224, 224), (447, 447), (448, 448),
             (1200, 1200), (1, 1)]
    expected = [0, 0, 1, 1, 1, 2, 2, 3, 3, 0]
    got = ext.map_roi_levels(_rois(sizes), 4)
    assert got.tolist() == expected
    assert got.dtype == torch.long
    # finest_scale moves the boundaries: with 28, a 56 px RoI is already level 1.
    ext28 = build({"type": "SingleRoIExtractor", "roi_layer": {"type": "RoIAlign", "output_size": 7},
                   "out_channels": 4, "featmap_strides": STRIDES, "finest_scale": 28}, "task_modules")
    assert ext28.map_roi_levels(_rois([(55, 55), (56, 56)]), 4).tolist() == [0, 1]


def test_output_equals_torchvision_roi_align_per_level():
    gen = torch.Generator().manual_seed(0)
    feats = [torch.randn(2, 4, 256 // s, 256 // s, generator=gen) for s in STRIDES]
    rois = _rois([(20, 30), (150, 100), (250, 240), (240, 250), (60, 9), (500, 450)], [0, 1, 0, 1, 1, 0])
    ext = _extractor()
    out = ext(feats, rois)
    assert out.shape == (6, 4, 7, 7)
    levels = ext.map_roi_levels(rois, 4)
    assert sorted(set(levels.tolist())) == [0, 1, 2, 3]
    for i, lvl in enumerate(levels.tolist()):
        ref = roi_align(feats[lvl], rois[i:i + 1], (7, 7), spatial_scale=1.0 / STRIDES[lvl], sampling_ratio=0,
                        aligned=True)
        torch.testing.assert_close(out[i:i + 1], ref)


def test_roi_pool_and_unaligned_and_single_level():
    gen = torch.Generator().manual_seed(1)
    feats = [torch.randn(1, 4, 32, 32, generator=gen)]
    rois = _rois([(40, 30), (10, 12)])
    one = build({"type": "SingleRoIExtractor", "roi_layer": {"type": "RoIPool", "output_size": 7},
                 "out_channels": 4, "featmap_strides": [4]}, "task_modules")
    torch.testing.assert_close(one(feats, rois), roi_pool(feats[0], rois, (7, 7), spatial_scale=0.25))
    unaligned = build({"type": "SingleRoIExtractor",
                       "roi_layer": {"type": "RoIAlign", "output_size": 5, "sampling_ratio": 2, "aligned": False},
                       "out_channels": 4, "featmap_strides": [4]}, "task_modules")
    torch.testing.assert_close(unaligned(feats, rois),
                               roi_align(feats[0], rois, (5, 5), 0.25, sampling_ratio=2, aligned=False))


def test_gradients_reach_only_used_levels_and_empty_rois():
    feats = [torch.randn(1, 4, 64 // s, 64 // s, requires_grad=True) for s in STRIDES]
    ext = _extractor().train()
    out = ext(feats, _rois([(20, 20)]))
    out.sum().backward()
    assert feats[0].grad.abs().sum() > 0
    assert all(f.grad is not None and float(f.grad.abs().sum()) == 0 for f in feats[1:])
    empty = ext(feats, torch.zeros((0, 5)))
    assert empty.shape == (0, 4, 7, 7)


def test_roi_scale_factor_scales_about_the_centre():
    ext = _extractor()
    rois = torch.tensor([[0.0, 10.0, 20.0, 30.0, 60.0]])
    torch.testing.assert_close(ext.roi_rescale(rois, 2.0), torch.tensor([[0.0, 0.0, 0.0, 40.0, 80.0]]))


def test_bad_roi_layer_names_the_key():
    with pytest.raises(ConfigError, match="does not take \\['pool_size'\\]"):
        _extractor(pool_size=3)
    with pytest.raises(ConfigError, match="roi_layer.type"):
        build({"type": "SingleRoIExtractor", "roi_layer": {"type": "DeformRoIPool"}, "out_channels": 4,
               "featmap_strides": STRIDES}, "task_modules")
