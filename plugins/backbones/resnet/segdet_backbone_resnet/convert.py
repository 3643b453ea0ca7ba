"""Converters from other projects' ResNet checkpoints to segdet ``ResNet`` keys.

A converter is a plain function ``convert(state_dict) -> state_dict`` registered in the
``segdet.converters`` entry-point group; ``segdet convert NAME IN OUT`` loads ``IN``, calls it and
saves ``OUT``.
"""
from __future__ import annotations

from collections.abc import Mapping

import torch

__all__ = ["torchvision_resnet"]


def torchvision_resnet(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Map a ``torchvision.models.resnet*`` state dict to segdet ``ResNet`` (``deep_stem=False``) keys.

    torchvision already uses the names segdet (and MMDetection) use (``conv1``, ``bn1``,
    ``layer1.0.conv1``, ``layer1.0.downsample.0``/``.1``), so the mapping keeps every backbone
    key, strips a ``module.`` prefix left by ``DataParallel`` and drops the classifier ``fc.*``.

    Raises:
        ValueError: the state dict holds no ``conv1.weight`` and ``layer1.*`` keys, i.e. it is not a
            torchvision ResNet.
    """
    out: dict[str, torch.Tensor] = {}
    for key, value in state_dict.items():
        name = key[len("module."):] if key.startswith("module.") else key
        if name.startswith("fc."):
            continue
        out[name] = value
    if "conv1.weight" not in out or not any(k.startswith("layer1.") for k in out):
        sample = ", ".join(list(state_dict)[:5])
        raise ValueError(
            "torchvision_resnet: this is not a torchvision ResNet state dict (no 'conv1.weight' and "
            f"'layer1.*' keys); its first keys are: {sample}"
        )
    return out
