"""Components of segdet's own plugin distributions, for hints when one is not installed.

Kept as data so an unknown-type error can say ``pip install segdet-neck-bifpn``
without that distribution being present.
"""
from __future__ import annotations

__all__ = ["KNOWN_PROVIDERS"]

#: (short group, name) -> distribution that provides it
KNOWN_PROVIDERS: dict[tuple[str, str], str] = {
    ("backbones", "ResNet"): "segdet-backbone-resnet",
    ("backbones", "ResNetV1c"): "segdet-backbone-resnet",
    ("backbones", "ResNetV1d"): "segdet-backbone-resnet",
    ("backbones", "SwinTransformer"): "segdet-backbone-swin",
    ("necks", "FPN"): "segdet-neck-fpn",
    ("necks", "BiFPN"): "segdet-neck-bifpn",
    ("heads", "RetinaHead"): "segdet-head-retina",
    ("heads", "ATSSHead"): "segdet-head-atss",
    ("heads", "FCOSHead"): "segdet-head-fcos",
    ("heads", "FCNHead"): "segdet-head-fcn",
    ("heads", "PSPHead"): "segdet-head-psp",
    ("heads", "UPerHead"): "segdet-head-uper",
    ("losses", "FocalLoss"): "segdet-losses",
    ("losses", "CrossEntropyLoss"): "segdet-losses",
    ("losses", "SmoothL1Loss"): "segdet-losses",
    ("losses", "L1Loss"): "segdet-losses",
    ("losses", "IoULoss"): "segdet-losses",
    ("losses", "GIoULoss"): "segdet-losses",
    ("losses", "DIoULoss"): "segdet-losses",
    ("losses", "CIoULoss"): "segdet-losses",
    ("losses", "DiceLoss"): "segdet-losses",
    ("losses", "GaussianFocalLoss"): "segdet-losses",
    ("hooks", "TensorboardLoggerHook"): "segdet-hook-tensorboard",
    ("hooks", "EMAHook"): "segdet-hook-ema",
    ("hooks", "NumClassCheckHook"): "segdet-hook-numclasscheck",
}
