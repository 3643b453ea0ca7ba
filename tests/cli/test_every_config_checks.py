"""Every config shipped under ``configs/`` passes ``segdet check-config`` (issue 14): every type
resolves to an installed component, every key fits its constructor, the model builds (on the meta
device) and the evaluation metrics exist. Checked in-process with the command's own function, so
46 configs cost seconds, not 46 interpreter starts."""
from __future__ import annotations

from pathlib import Path

import pytest

from segdet_cli.commands._common import load_config
from segdet_cli.commands.config import check_config_problems

REPO = Path(__file__).resolve().parents[2]
CONFIGS = sorted(str(p.relative_to(REPO)) for p in REPO.glob("configs/*/*.py") if p.parent.name != "_base_")


def test_there_are_configs():
    assert len(CONFIGS) >= 40


@pytest.mark.parametrize("config", CONFIGS)
def test_config_passes_check_config(config):
    cfg = load_config(str(REPO / config), ())
    assert check_config_problems(cfg) == []
