"""Weight initialisation helpers with MMCV's semantics."""
from __future__ import annotations

import math
from typing import Any

from torch import nn

__all__ = ["bias_init_with_prob", "normal_init", "constant_init", "kaiming_init", "xavier_init"]


def bias_init_with_prob(prior_prob: float) -> float:
    """Bias that makes ``sigmoid(bias) == prior_prob`` (focal-loss heads start at 0.01)."""
    return float(-math.log((1 - prior_prob) / prior_prob))


def normal_init(module: Any, mean: float = 0.0, std: float = 1.0, bias: float = 0.0) -> None:
    if getattr(module, "weight", None) is not None:
        nn.init.normal_(module.weight, mean, std)
    if getattr(module, "bias", None) is not None:
        nn.init.constant_(module.bias, bias)


def constant_init(module: Any, val: float, bias: float = 0.0) -> None:
    if getattr(module, "weight", None) is not None:
        nn.init.constant_(module.weight, val)
    if getattr(module, "bias", None) is not None:
        nn.init.constant_(module.bias, bias)


def kaiming_init(module: Any, a: float = 0, mode: Any = "fan_out", nonlinearity: Any = "relu",
                 bias: float = 0.0, distribution: str = "normal") -> None:
    if distribution == "uniform":
        nn.init.kaiming_uniform_(module.weight, a=a, mode=mode, nonlinearity=nonlinearity)
    else:
        nn.init.kaiming_normal_(module.weight, a=a, mode=mode, nonlinearity=nonlinearity)
    if getattr(module, "bias", None) is not None:
        nn.init.constant_(module.bias, bias)


def xavier_init(module: Any, gain: float = 1.0, bias: float = 0.0, distribution: str = "normal") -> None:
    if distribution == "uniform":
        nn.init.xavier_uniform_(module.weight, gain=gain)
    else:
        nn.init.xavier_normal_(module.weight, gain=gain)
    if getattr(module, "bias", None) is not None:
        nn.init.constant_(module.bias, bias)
