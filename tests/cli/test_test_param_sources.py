"""`segdet test` tests with the parameters a checkpoint's meta names (EMA weights), by map only."""
from __future__ import annotations

import logging

import torch
from torch import nn

from segdet_cli.commands.test import _load_weights


class _Tiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(2, 2)
        self.register_buffer("avg_fc_weight", torch.zeros(2, 2))


def test_meta_test_param_sources_replace_parameters(tmp_path):
    model = _Tiny()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    state["avg_fc_weight"] = torch.full((2, 2), 7.0)
    path = tmp_path / "ckpt.pth"
    torch.save({"state_dict": state, "meta": {"test_param_sources": {"fc.weight": "avg_fc_weight"}}}, path)
    fresh = _Tiny()
    _load_weights(fresh, str(path), logging.getLogger("t"))
    assert torch.equal(fresh.fc.weight, torch.full((2, 2), 7.0))
    assert torch.equal(fresh.fc.bias, state["fc.bias"])


def test_without_sources_parameters_stay(tmp_path):
    model = _Tiny()
    path = tmp_path / "ckpt.pth"
    torch.save({"state_dict": model.state_dict(), "meta": {}}, path)
    fresh = _Tiny()
    _load_weights(fresh, str(path), logging.getLogger("t"))
    assert torch.equal(fresh.fc.weight, model.fc.weight)
