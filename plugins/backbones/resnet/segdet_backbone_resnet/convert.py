"""Converters from other projects' ResNet / RegNet checkpoints to segdet (MMDetection) keys.

A converter is a plain function ``convert(state_dict) -> state_dict`` registered in the
``segdet.converters`` entry-point group; ``segdet convert NAME IN OUT`` loads ``IN``, calls it and
saves ``OUT``.
"""
from __future__ import annotations

from collections.abc import Mapping

import torch

__all__ = ["torchvision_regnet", "torchvision_resnet"]


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


_TV_REGNET_PARTS = {"proj.0": "downsample.0", "proj.1": "downsample.1", "f.a.0": "conv1", "f.a.1": "bn1",
                    "f.b.0": "conv2", "f.b.1": "bn2", "f.c.0": "conv3", "f.c.1": "bn3"}


def torchvision_regnet(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Map a ``torchvision.models.regnet_x_*`` state dict to segdet / MMDetection ``RegNet`` keys.

    ``stem.0``/``stem.1`` -> ``conv1``/``bn1``; ``trunk_output.block{s}.block{s}-{j}.f.{a,b,c}.{0,1}`` ->
    ``layer{s}.{j}.conv{1,2,3}``/``bn{1,2,3}``; ``...proj.{0,1}`` -> ``layer{s}.{j}.downsample.{0,1}``; the
    classifier ``fc.*`` is dropped. RegNetY (squeeze-excitation, ``f.se.*``) has no MMDetection counterpart.

    Raises:
        ValueError: a key that is not part of a torchvision RegNetX.
    """
    out: dict[str, torch.Tensor] = {}
    for key, value in state_dict.items():
        name = key[len("module."):] if key.startswith("module.") else key
        if name.startswith("fc."):
            continue
        if name.startswith("stem."):
            idx, rest = name[len("stem."):].split(".", 1)
            out[f"{'conv1' if idx == '0' else 'bn1'}.{rest}"] = value
            continue
        parts = name.split(".")
        if len(parts) >= 5 and parts[0] == "trunk_output" and parts[1].startswith("block"):
            stage = parts[1][len("block"):]
            block = parts[2].split("-", 1)[1]
            sub = ".".join(parts[3:-1])
            if sub in _TV_REGNET_PARTS:
                out[f"layer{stage}.{block}.{_TV_REGNET_PARTS[sub]}.{parts[-1]}"] = value
                continue
        raise ValueError(f"torchvision_regnet: key {key!r} is not part of a torchvision RegNetX "
                         "(RegNetY's squeeze-excitation has no MMDetection RegNet counterpart)")
    return out
