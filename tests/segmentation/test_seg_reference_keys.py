"""Segmentors built from segdet's configs have exactly MMSegmentation's state-dict keys and shapes,
so published checkpoints load with strict=True."""
from __future__ import annotations

from pathlib import Path

import pytest

from segdet.config import Config
from segdet.models.builder import build_model
from segdet.registry import components
from segdet.testing.shared import reference_keys

REPO = Path(__file__).resolve().parents[2]
CONFIGS = [
    "fcn/fcn_r50-d8_512x1024_40k_cityscapes.py",
    "pspnet/pspnet_r50-d8_512x1024_40k_cityscapes.py",
    "upernet/upernet_r50_512x1024_40k_cityscapes.py",
    "swin/upernet_swin_tiny_patch4_window7_512x512_160k_ade20k_pretrain_224x224_1K.py",
]


def _installed(group: str, name: str) -> bool:
    return any(i.name == name for i in components(group))


@pytest.mark.parametrize("config", CONFIGS)
def test_full_model_keys_and_shapes(config: str) -> None:
    cfg = Config.fromfile(str(REPO / "configs" / config),
                          cfg_options={"model.backbone.init_cfg": None, "model.pretrained": None})
    backbone = cfg.model.backbone.type
    if not _installed("backbones", backbone) or not _installed("losses", "CrossEntropyLoss"):
        pytest.fail(f"{backbone} or CrossEntropyLoss is not installed")
    model = build_model(cfg.model)
    got = {k: list(v.shape) for k, v in model.state_dict().items()}
    ref = reference_keys()[config]
    assert sorted(set(ref) - set(got)) == [], "keys missing"
    assert sorted(set(got) - set(ref)) == [], "unexpected keys"
    assert {k: v for k, v in got.items() if ref[k] != v} == {}, "shapes differ"


def test_pretrained_goes_to_backbone_init_cfg_without_reading_it() -> None:
    cfg = Config.fromfile(str(REPO / "configs" / CONFIGS[1]))
    if not _installed("backbones", "ResNetV1c") or not _installed("losses", "CrossEntropyLoss"):
        pytest.fail("ResNetV1c or CrossEntropyLoss is not installed")
    assert cfg.model.pretrained == "open-mmlab://resnet50_v1c"
    model = build_model(cfg.model)  # no network access: weights are read by init_weights()
    assert model.backbone.init_cfg["checkpoint"] == "open-mmlab://resnet50_v1c"
