"""build_optimizer: types from the registry or torch.optim, and MMCV's paramwise_cfg rules."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from segdet.engine.optimizer import build_optimizer
from segdet.errors import ComponentArgumentError, ConfigError, UnknownComponentError


class _Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(3, 4, 3, bias=True), nn.BatchNorm2d(4))
        self.dw = nn.Conv2d(4, 4, 3, groups=4, bias=False)
        self.head = nn.Linear(4, 2)
        self.gn = nn.GroupNorm(2, 4)


def _group_of(opt, param):
    for g in opt.param_groups:
        if any(p is param for p in g["params"]):
            return g
    raise AssertionError("param not found")


def test_plain_sgd_has_one_group():
    net = _Net()
    opt = build_optimizer(net, dict(type="SGD", lr=0.01, momentum=0.9, weight_decay=1e-4))
    assert isinstance(opt, torch.optim.SGD) and len(opt.param_groups) == 1
    assert opt.param_groups[0]["lr"] == 0.01 and opt.param_groups[0]["momentum"] == 0.9


def test_paramwise_rules():
    net = _Net()
    lr, wd = 0.01, 1e-4
    opt = build_optimizer(net, dict(type="SGD", lr=lr, momentum=0.9, weight_decay=wd, paramwise_cfg=dict(
        custom_keys={"backbone": dict(lr_mult=0.1, decay_mult=0.5), "backbone.1": dict(lr_mult=0.3)},
        bias_lr_mult=2.0, bias_decay_mult=0.0, norm_decay_mult=0.0, dwconv_decay_mult=0.25)))
    # the longest matching custom key wins
    assert _group_of(opt, net.backbone[1].weight)["lr"] == pytest.approx(lr * 0.3)
    assert _group_of(opt, net.backbone[1].weight)["weight_decay"] == pytest.approx(wd)
    assert _group_of(opt, net.backbone[0].weight)["lr"] == pytest.approx(lr * 0.1)
    assert _group_of(opt, net.backbone[0].weight)["weight_decay"] == pytest.approx(wd * 0.5)
    # custom keys take precedence over bias rules
    assert _group_of(opt, net.backbone[0].bias)["lr"] == pytest.approx(lr * 0.1)
    assert _group_of(opt, net.head.bias)["lr"] == pytest.approx(lr * 2.0)
    assert _group_of(opt, net.head.bias)["weight_decay"] == 0.0
    assert _group_of(opt, net.head.weight)["lr"] == pytest.approx(lr)
    assert _group_of(opt, net.head.weight)["weight_decay"] == pytest.approx(wd)
    # norm layers: decay multiplied, bias lr not multiplied
    assert _group_of(opt, net.gn.weight)["weight_decay"] == 0.0
    assert _group_of(opt, net.gn.bias)["lr"] == pytest.approx(lr)
    assert _group_of(opt, net.dw.weight)["weight_decay"] == pytest.approx(wd * 0.25)
    assert sum(len(g["params"]) for g in opt.param_groups) == len(list(net.parameters()))


def test_frozen_params_kept_without_overrides():
    net = _Net()
    net.head.weight.requires_grad_(False)
    opt = build_optimizer(net, dict(type="SGD", lr=0.1, weight_decay=0.1, paramwise_cfg=dict(bias_lr_mult=2.0)))
    group = _group_of(opt, net.head.weight)
    assert group["lr"] == 0.1 and group["weight_decay"] == 0.1  # the optimizer's defaults


def test_adamw_from_entry_point_and_torch_fallback():
    net = _Net()
    assert isinstance(build_optimizer(net, dict(type="AdamW", lr=1e-3, weight_decay=0.05)), torch.optim.AdamW)
    assert isinstance(build_optimizer(net, dict(type="NAdam", lr=1e-3)), torch.optim.NAdam)


def test_unknown_type_and_argument_errors():
    net = _Net()
    with pytest.raises(UnknownComponentError, match="SDG.*optimizers"):
        build_optimizer(net, dict(type="SDG", lr=0.1))
    with pytest.raises(ComponentArgumentError, match="momentun"):
        build_optimizer(net, dict(type="SGD", lr=0.1, momentun=0.9))
    with pytest.raises(ConfigError, match="weight_decay"):
        build_optimizer(net, dict(type="SGD", lr=0.1, paramwise_cfg=dict(norm_decay_mult=0.0)))
    with pytest.raises(ConfigError, match="unknown keys"):
        build_optimizer(net, dict(type="SGD", lr=0.1, paramwise_cfg=dict(bias_mult=0.0)))
