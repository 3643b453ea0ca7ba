"""A progress bar that is a tqdm bar on a terminal and a few plain lines otherwise."""
from __future__ import annotations

import sys
import time
from typing import Any, TextIO

__all__ = ["Progress", "bar_active", "write_around_bars"]

_ACTIVE_BARS: list[Any] = []  # tqdm bars drawn now; log lines must be written around them


def bar_active() -> bool:
    """True while a terminal progress bar is drawn (log lines then go through :func:`write_around_bars`)."""
    return bool(_ACTIVE_BARS)


def write_around_bars(text: str, stream: TextIO) -> None:
    """Write ``text`` (one or more lines) to ``stream`` so an active bar is cleared first and drawn
    again below it (``tqdm.write``), instead of the text being glued onto the bar's line."""
    from tqdm import tqdm

    tqdm.write(text, file=stream)


class Progress:
    """``with Progress(total, desc) as bar: bar.update()``.

    On a TTY this is a :mod:`tqdm` bar; when the stream is a file or a pipe it
    prints ``desc: done/total (pct%) elapsed, it/s`` about every tenth of the
    way, so logs stay readable. ``enabled=False`` (ranks other than 0) prints nothing.
    """

    def __init__(self, total: int, desc: str = "", stream: TextIO | None = None,
                 enabled: bool = True, lines: int = 10) -> None:
        self.total = max(int(total), 0)
        self.desc = desc
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.count = 0
        self._bar: Any = None
        self._start = time.perf_counter()
        self._every = max(self.total // max(lines, 1), 1)
        if enabled and _isatty(self.stream):
            from tqdm import tqdm

            self._bar = tqdm(total=self.total, desc=desc, file=self.stream, dynamic_ncols=True, leave=False)
            _ACTIVE_BARS.append(self._bar)

    def update(self, n: int = 1) -> None:
        self.count += n
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(n)
        elif self.count % self._every == 0 or self.count == self.total:
            elapsed = time.perf_counter() - self._start
            rate = self.count / elapsed if elapsed > 0 else 0.0
            pct = 100.0 * self.count / self.total if self.total else 100.0
            self.stream.write(f"{self.desc}: {self.count}/{self.total} ({pct:.0f}%) "
                              f"{elapsed:.1f}s, {rate:.2f} it/s\n")
            self.stream.flush()

    def close(self) -> None:
        if self._bar is not None:
            if self._bar in _ACTIVE_BARS:
                _ACTIVE_BARS.remove(self._bar)
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _isatty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
