"""Make fault_helpers importable; the ``toy_config`` fixture."""
from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from fault_helpers import TOY_CFG  # noqa: E402


@pytest.fixture
def toy_config(tmp_path: Path) -> Callable[..., Path]:
    """``toy_config(extra='...', name='toy.py')`` writes the toy detector config (plus ``extra``)."""
    def write(extra: str = "", name: str = "toy.py") -> Path:
        path = tmp_path / name
        path.write_text(TOY_CFG + textwrap.dedent(extra))
        return path

    return write
