"""ConvTowers / conv_tower: MMDetection names, shapes, the focal-prior init and Pretrained loading."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from segdet.api import ConvTowers, conv_tower


class _Head(ConvTowers, nn.Module):
    def __init__(self, stacked_convs: int, init_cfg: dict | None = None) -> None:
        super().__init__()
        last = self._build_towers(6, 8, stacked_convs, norm_cfg={"type": "GN", "num_groups": 4})
        self.my_cls = nn.Conv2d(last, 3, 3, padding=1)
        self.my_reg = nn.Conv2d(last, 4, 3, padding=1)
        self.init_cfg = init_cfg
        self._default_init()

    def _cls_logits(self) -> nn.Module:
        return self.my_cls

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        cls_feat, reg_feat = self._tower_feats(x)
        return self.my_cls(cls_feat), self.my_reg(reg_feat)


def test_names_shapes_and_gradients() -> None:
    head = _Head(2)
    keys = set(head.state_dict())
    assert {"cls_convs.0.conv.weight", "cls_convs.1.gn.weight", "reg_convs.1.conv.weight"} <= keys
    assert "cls_convs.0.conv.bias" not in keys  # bias='auto' with a norm layer: no conv bias
    x = torch.randn(2, 6, 16, 12, requires_grad=True)
    cls, reg = head(x)
    assert cls.shape == (2, 3, 16, 12) and reg.shape == (2, 4, 16, 12)
    (cls.sum() + reg.sum()).backward()
    assert x.grad is not None and head.reg_convs[0].conv.weight.grad is not None


def test_no_tower_keeps_the_input_channels() -> None:
    head = _Head(0)
    assert len(head.cls_convs) == 0 and head.my_cls.in_channels == 6
    assert len(conv_tower(6, 8, 0)) == 0


def test_init_sets_the_focal_prior_and_small_weights() -> None:
    torch.manual_seed(0)
    head = _Head(1)
    prior = -math.log((1 - 0.01) / 0.01)
    assert torch.allclose(head.my_cls.bias, torch.full((3,), prior))
    assert torch.all(head.my_reg.bias == 0)
    assert float(head.cls_convs[0].conv.weight.detach().std()) == pytest.approx(0.01, rel=0.3)


def test_init_weights_loads_a_pretrained_checkpoint(tmp_path) -> None:
    src = _Head(1)
    with torch.no_grad():
        src.my_reg.weight.fill_(0.5)
    path = tmp_path / "head.pth"
    torch.save({"state_dict": src.state_dict()}, path)
    head = _Head(1, init_cfg={"type": "Pretrained", "checkpoint": str(path)})
    assert not torch.allclose(head.my_reg.weight, src.my_reg.weight)
    head.init_weights()
    assert torch.allclose(head.my_reg.weight, src.my_reg.weight)
