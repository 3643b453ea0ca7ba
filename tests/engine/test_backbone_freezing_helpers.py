"""segdet.api.freeze_modules / eval_batch_norms: what backbones' train() keeps out of training."""
from __future__ import annotations

import torch
from torch import nn

from segdet.api import eval_batch_norms, freeze_modules


def _net() -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Conv2d(4, 4, 1), nn.GroupNorm(2, 4))


def test_freeze_modules_stops_gradients_and_training_mode() -> None:
    net = _net()
    freeze_modules([net[0], net[1]])
    assert not net[0].weight.requires_grad and not net[1].weight.requires_grad
    assert not net[0].training and not net[1].training
    assert net[2].weight.requires_grad and net[2].training
    net(torch.rand(2, 3, 8, 8)).sum().backward()
    assert net[0].weight.grad is None and net[2].weight.grad is not None


def test_eval_batch_norms_keeps_running_statistics() -> None:
    net = _net().train()
    eval_batch_norms(net)
    bn = net[1]
    assert isinstance(bn, nn.BatchNorm2d)
    assert not bn.training and net[3].training and net[0].training
    before = bn.running_mean.clone()
    net(torch.rand(2, 3, 8, 8) * 5 + 3)
    assert torch.equal(bn.running_mean, before)
