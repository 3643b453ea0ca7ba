"""Log lines and a terminal progress bar share the terminal: a line logged while the bar is drawn
starts on a cleared line and the bar is drawn again after it (never glued onto the bar)."""
from __future__ import annotations

import io
import logging
import re

from segdet.engine.logger import _ConsoleHandler
from segdet.engine.progress import Progress, bar_active


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _logger(stream: io.StringIO) -> logging.Logger:
    logger = logging.getLogger("segdet.test_progress_and_log")
    logger.handlers[:] = [_ConsoleHandler(stream)]
    logger.handlers[0].setFormatter(logging.Formatter("%(levelname)s - %(message)s"))
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger


def test_log_line_written_around_an_active_bar():
    tty = _Tty()
    logger = _logger(tty)
    with Progress(4, "train epoch 1/1", stream=tty) as bar:
        assert bar_active()
        bar.update(2)
        logger.info("Epoch [1][2/4] loss: 0.5")
        bar.update(2)
    assert not bar_active()
    text = tty.getvalue()
    start = text.index("INFO - Epoch [1][2/4] loss: 0.5")
    assert text[start - 1] in "\r\n"  # the bar was cleared: the line does not continue the bar's text
    assert text[start:].split("\n", 1)[0] == "INFO - Epoch [1][2/4] loss: 0.5"
    after = text[start:].split("\n", 1)[1]
    assert re.search(r"train epoch 1/1: +\d+%", after)  # the bar is drawn again below the line


def test_without_a_bar_lines_are_plain():
    tty = _Tty()
    logger = _logger(tty)
    logger.info("no bar")
    assert tty.getvalue() == "INFO - no bar\n"
