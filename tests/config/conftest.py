"""Fixtures of the config tests: real config files written into ``tmp_path``."""
from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from segdet.config import clear_cache


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    """``write('configs/a.py', source)`` writes a dedented file under ``tmp_path``."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return _write


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # Origins are shown relative to the working directory: run inside tmp_path
    # so messages read 'configs/a.py:3', and start every test with a cold cache.
    monkeypatch.chdir(tmp_path)
    clear_cache()
    yield
    clear_cache()
