"""segdet.api.load_backbone_pretrained: own keys, a whole model's backbone.* keys, and a warning for the rest."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from segdet.api import load_backbone_pretrained


class _Tiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.fc = nn.Linear(4, 2)


def _filled(value: float) -> _Tiny:
    net = _Tiny()
    for p in net.parameters():
        p.data.fill_(value)
    return net


def test_own_keys_and_whole_model_keys(tmp_path) -> None:
    src = _filled(0.5)
    own = tmp_path / "own.pth"
    torch.save(src.state_dict(), own)
    net = _filled(0.0)
    assert load_backbone_pretrained(net, str(own)) == []
    assert torch.equal(net.conv.weight, src.conv.weight)

    whole = tmp_path / "whole.pth"
    torch.save({"state_dict": {**{f"backbone.{k}": v for k, v in src.state_dict().items()},
                               "head.w": torch.ones(1)}}, whole)
    net = _filled(0.0)
    assert load_backbone_pretrained(net, str(whole)) == []  # nothing fitted as is: read under backbone.
    assert torch.equal(net.fc.bias, src.fc.bias)


def test_missing_keys_warn_and_stay(tmp_path) -> None:
    src = _filled(0.5)
    path = tmp_path / "part.pth"
    torch.save({k: v for k, v in src.state_dict().items() if k.startswith("conv.")}, path)
    net = _filled(0.0)
    with pytest.warns(UserWarning, match=r"_Tiny: 2 keys missing in .*part\.pth.*fc\.weight"):
        missing = load_backbone_pretrained(net, str(path))
    assert sorted(missing) == ["fc.bias", "fc.weight"]
    assert torch.equal(net.conv.weight, src.conv.weight) and bool((net.fc.weight == 0).all())
