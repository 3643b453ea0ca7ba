"""Every installed backbone, neck, head, loss, hook, transform and metric keeps its group's contract.

Components that build with their defaults are checked as they are; the others get tiny
arguments (and, where the group's default input does not fit them, inputs) from ``CASES``.
A component with required arguments and no entry here is skipped with the reason, so a new
plugin shows up in the report until it gets a line.
"""
from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from segdet.registry import components, resolve
from segdet.testing import ContractViolation, check_component, default_results

GROUPS = ("backbones", "necks", "heads", "losses", "hooks", "transforms", "metrics")


def _ce_inputs() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    return torch.randn(8, 4, generator=gen).requires_grad_(True), torch.randint(0, 4, (8,), generator=gen)


def _heatmap_inputs() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    target = torch.rand(2, 3, 8, 8, generator=gen)
    target[0, 0, 4, 4] = 1.0
    return torch.rand(2, 3, 8, 8, generator=gen).clamp(0.05, 0.95).requires_grad_(True), target


def _ann_results() -> dict[str, Any]:
    return {"img_info": {"filename": "a.png", "height": 32, "width": 48},
            "ann_info": {"bboxes": np.array([[1, 2, 10, 12]], np.float32), "labels": np.array([1])}}


def _dense_feats(channels: int, levels: int) -> list[torch.Tensor]:
    return [torch.rand(2, channels, 16 // 2 ** i, 16 // 2 ** i) for i in range(levels)]


class _Loader(list):
    """A validation loader is only read for its ``dataset`` when the hook is built."""

    class dataset:  # noqa: N801  (stands for an instance)
        CLASSES = ("a",)

        @staticmethod
        def evaluate(results: Any, **kwargs: Any) -> dict[str, float]:
            return {"bbox_mAP": 0.0}


_ANCHORS = {"type": "AnchorGenerator", "octave_base_scale": 4, "scales_per_octave": 1, "ratios": [1.0],
            "strides": [8, 16]}

# name -> (tiny kwargs, inputs or None)
CASES: dict[str, tuple[dict[str, Any], Any]] = {
    "ResNet": ({"depth": 18, "base_channels": 8, "out_indices": (0, 1, 2, 3)}, None),
    "ResNetV1c": ({"depth": 18, "base_channels": 8, "stem_channels": 8}, None),
    "ResNetV1d": ({"depth": 18, "base_channels": 8, "stem_channels": 8}, None),
    "SwinTransformer": ({"embed_dims": 8, "depths": (1, 1), "num_heads": (1, 2), "window_size": 2,
                         "out_indices": (0, 1), "strides": (4, 2), "patch_size": 4}, None),
    "ResNeXt": ({"depth": 50, "groups": 2, "base_width": 2, "base_channels": 4, "stem_channels": 8}, None),
    "Res2Net": ({"depth": 50, "scales": 2, "base_width": 2, "base_channels": 4, "stem_channels": 8}, None),
    "RegNet": ({"arch": {"w0": 8, "wa": 8.0, "wm": 2.0, "group_w": 8, "depth": 8, "bot_mul": 1.0},
                "stem_channels": 8, "base_channels": 8}, None),
    "HRNet": ({"stem_channels": 8, "extra": {
        "stage1": {"num_modules": 1, "num_branches": 1, "block": "BOTTLENECK", "num_blocks": (1,),
                   "num_channels": (4,)},
        "stage2": {"num_modules": 1, "num_branches": 2, "block": "BASIC", "num_blocks": (1, 1),
                   "num_channels": (4, 8)},
        "stage3": {"num_modules": 1, "num_branches": 3, "block": "BASIC", "num_blocks": (1, 1, 1),
                   "num_channels": (4, 8, 16)},
        "stage4": {"num_modules": 1, "num_branches": 4, "block": "BASIC", "num_blocks": (1, 1, 1, 1),
                   "num_channels": (4, 8, 16, 16)}}}, None),
    "HRFPN": ({"in_channels": [4, 8, 16, 16], "out_channels": 8, "num_outs": 5}, None),
    "FPN": ({"in_channels": [4, 8, 16, 16], "out_channels": 8, "num_outs": 5, "start_level": 1,
             "add_extra_convs": "on_input"}, None),
    "BiFPN": ({"in_channels": [4, 8, 16], "out_channels": 8, "num_outs": 5}, None),
    "FCNHead": ({"in_channels": 8, "channels": 8, "num_classes": 3}, None),
    "PSPHead": ({"in_channels": 8, "channels": 8, "num_classes": 3, "pool_scales": (1, 2)}, None),
    "UPerHead": ({"in_channels": [4, 8, 8, 16], "in_index": [0, 1, 2, 3], "channels": 8, "num_classes": 3,
                  "pool_scales": (1, 2)}, None),
    "RetinaHead": ({"num_classes": 3, "in_channels": 8, "feat_channels": 8, "stacked_convs": 1,
                    "anchor_generator": _ANCHORS}, lambda: _dense_feats(8, 2)),
    "ATSSHead": ({"num_classes": 3, "in_channels": 8, "feat_channels": 8, "stacked_convs": 1,
                  "anchor_generator": _ANCHORS, "norm_cfg": {"type": "GN", "num_groups": 4}},
                 lambda: _dense_feats(8, 2)),
    "FCOSHead": ({"num_classes": 3, "in_channels": 8, "feat_channels": 8, "stacked_convs": 1, "strides": [8, 16],
                  "regress_ranges": ((-1, 16), (16, 1e8)), "norm_cfg": {"type": "GN", "num_groups": 4}},
                 lambda: _dense_feats(8, 2)),
    "ASPPHead": ({"in_channels": 8, "channels": 4, "num_classes": 3, "dilations": (1, 2)}, None),
    "DepthwiseSeparableASPPHead": ({"in_channels": 8, "channels": 4, "num_classes": 3, "dilations": (1, 2),
                                    "c1_in_channels": 4, "c1_channels": 4, "in_index": 1}, None),
    "FPNHead": ({"in_channels": [4, 4], "in_index": [0, 1], "feature_strides": [4, 8], "channels": 4,
                 "num_classes": 3}, None),
    "OCRHead": ({"in_channels": 8, "channels": 4, "ocr_channels": 4, "num_classes": 3},
                lambda: {"inputs": [torch.rand(2, 8, 8, 8)], "prev_output": torch.rand(2, 3, 8, 8)}),
    "RPNHead": ({"in_channels": 8, "feat_channels": 8, "anchor_generator": {
        "type": "AnchorGenerator", "scales": [8], "ratios": [1.0], "strides": [8, 16]}}, lambda: _dense_feats(8, 2)),
    "ConvFCBBoxHead": ({"num_shared_fcs": 1, "in_channels": 8, "fc_out_channels": 16, "roi_feat_size": 2,
                        "num_classes": 3}, lambda: torch.rand(4, 8, 2, 2)),
    "Shared2FCBBoxHead": ({"in_channels": 8, "fc_out_channels": 16, "roi_feat_size": 2, "num_classes": 3},
                          lambda: torch.rand(4, 8, 2, 2)),
    "Shared4Conv1FCBBoxHead": ({"in_channels": 8, "conv_out_channels": 8, "fc_out_channels": 16,
                                "roi_feat_size": 2, "num_classes": 3}, lambda: torch.rand(4, 8, 2, 2)),
    "FCNMaskHead": ({"num_convs": 1, "roi_feat_size": 4, "in_channels": 8, "conv_out_channels": 8,
                     "num_classes": 3}, lambda: torch.rand(2, 8, 4, 4)),
    "CrossEntropyLoss": ({}, _ce_inputs),
    "GaussianFocalLoss": ({}, _heatmap_inputs),
    # the contract's results hold a semantic map, which Expand refuses to fill without being told how
    "Expand": ({"seg_ignore_label": 255}, None),
    "AssociativeEmbeddingLoss": ({}, lambda: (torch.randn(2, 1, 4, 4, requires_grad=True), torch.randn(2, 1, 4, 4),
                                              [[[[0, 0], [2, 2]], [[1, 1], [3, 3]]], [[[0, 1], [3, 2]]]])),
    "HourglassNet": ({"downsample_times": 2, "num_stacks": 2, "stage_channels": [8, 8, 16], "stage_blocks": [1, 1, 1],
                      "feat_channel": 8}, None),
    "CornerHead": ({"num_classes": 3, "in_channels": 8, "num_feat_levels": 2, "feat_channels": 8,
                    "pool_feat_channels": 4}, lambda: _dense_feats(8, 2)),
    "RandomCenterCropPad": ({"crop_size": None, "ratios": None, "border": None, "test_mode": True,
                             "mean": [0.0, 0.0, 0.0], "std": [1.0, 1.0, 1.0], "to_rgb": True},
                            lambda: {**default_results(), "img": default_results()["img"].astype(np.float32)}),
    "LrUpdaterHook": ({"schedule": {"type": "Step", "step": [2]}}, None),
    "MomentumUpdaterHook": ({"schedule": {"type": "CosineAnnealingMomentum", "min_momentum_ratio": 0.5}},
                            None),
    "EvalHook": ({"dataloader": _Loader(), "interval": 1}, None),
    "Resize": ({"img_scale": (24, 16), "keep_ratio": True}, None),
    "Normalize": ({"mean": [0.0, 0.0, 0.0], "std": [1.0, 1.0, 1.0]}, None),
    "Pad": ({"size_divisor": 16}, None),
    "RandomCrop": ({"crop_size": (24, 32)}, None),
    "RandomRotate": ({"prob": 1.0, "degree": 10.0}, None),
    "Collect": ({"keys": ["img", "gt_bboxes", "gt_labels"]}, None),
    "LoadAnnotations": ({}, _ann_results),
    "AutoAugment": ({"policies": [[{"type": "RandomFlip", "flip_ratio": 1.0}]]}, None),
    "MultiScaleFlipAug": ({"img_scale": (24, 16), "flip": True,
                           "transforms": [{"type": "Resize", "keep_ratio": True}, {"type": "RandomFlip"}]},
                          None),
}


def _needs_arguments(obj: Any) -> bool:
    try:
        params = inspect.signature(obj).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.default is inspect.Parameter.empty and p.kind in (
        inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY) for p in params)


_INFOS = [i for g in GROUPS for i in components(g) if i.state == "ok" and i.distribution != "local"]


@pytest.mark.parametrize("info", _INFOS, ids=[f"{i.group.split('.')[-1]}/{i.name}" for i in _INFOS])
def test_group_contract(info: Any, tmp_path: Path) -> None:
    kwargs, inputs = CASES.get(info.name, ({}, None))
    if info.name == "LoadImageFromFile":
        import cv2

        cv2.imwrite(str(tmp_path / "a.png"), default_results()["img"])
        inputs = {"img_prefix": str(tmp_path), "img_info": {"filename": "a.png"}}
    elif info.name not in CASES and _needs_arguments(resolve(info.name, info.group)):
        pytest.skip(f"{info.display_name} needs constructor arguments: add tiny ones to CASES")
    torch.manual_seed(0)
    check_component(info, info.group, inputs=inputs, **kwargs)


def test_default_results_survive_a_real_pipeline() -> None:
    """The check's sample is what a detection pipeline really carries."""
    results = default_results()
    for name, kwargs in (("Resize", {"img_scale": (24, 16)}), ("RandomFlip", {"flip_ratio": 1.0}),
                         ("Pad", {"size_divisor": 8}), ("DefaultFormatBundle", {})):
        results = check_component(name, "transforms", **kwargs)(results)
    assert results["img"].shape == (3, 16, 24) and results["gt_bboxes"].shape == (2, 4)


def test_unknown_name_and_bad_kwargs_are_contract_failures() -> None:
    with pytest.raises(ContractViolation, match="does not build.*unexpected argument 'out_chanels'"):
        check_component("FPN", "necks", in_channels=[4, 8], out_chanels=8, num_outs=2)
