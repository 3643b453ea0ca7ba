"""The progress bar prints plain lines when its stream is not a terminal."""
from __future__ import annotations

import io

from segdet.engine.progress import Progress


def test_plain_lines_when_not_a_tty():
    stream = io.StringIO()
    with Progress(100, "train epoch 1/2", stream=stream) as bar:
        for _ in range(100):
            bar.update()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 10
    assert lines[0].startswith("train epoch 1/2: 10/100 (10%)") and lines[-1].startswith("train epoch 1/2: 100/100")
    assert "\r" not in stream.getvalue()


def test_disabled_prints_nothing():
    stream = io.StringIO()
    with Progress(5, "x", stream=stream, enabled=False) as bar:
        bar.update(5)
    assert stream.getvalue() == "" and bar.count == 5


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_tqdm_on_a_terminal():
    stream = _Tty()
    with Progress(3, "test", stream=stream) as bar:
        from tqdm import tqdm

        assert isinstance(bar._bar, tqdm)
        bar.update(3)
    assert stream.getvalue().startswith("\rtest:")  # a redrawn bar, not lines
