"""The ``segdet`` logger: console plus an optional text file, quiet on ranks other than 0."""
from __future__ import annotations

import logging
import os
import sys

__all__ = ["get_logger"]

_INITIALIZED: set[str] = set()
_FORMAT = "%(asctime)s - %(name)s - %(levelname)s - %(message)s"


class _ConsoleHandler(logging.StreamHandler):
    """A stream handler that, while a terminal progress bar is drawn, writes around it
    (clear the bar, write the line, draw the bar again) so lines are never glued onto it."""

    def emit(self, record: logging.LogRecord) -> None:
        from .progress import bar_active, write_around_bars

        if not bar_active():
            super().emit(record)
            return
        try:
            write_around_bars(self.format(record), self.stream)
        except Exception:  # pragma: no cover - as logging.StreamHandler does
            self.handleError(record)


def _rank() -> int:
    try:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            return dist.get_rank()
    except ImportError:  # pragma: no cover
        pass
    return int(os.environ.get("RANK", "0"))


def get_logger(name: str = "segdet", log_file: str | None = None,
               log_level: int = logging.INFO, file_mode: str = "w") -> logging.Logger:
    """Return logger ``name``; the first call with a ``log_file`` adds a file handler (rank 0 only).

    Ranks other than 0 log errors only, so a distributed run prints one copy.
    """
    logger = logging.getLogger(name)
    rank = _rank()
    if name not in _INITIALIZED:
        logger.propagate = False
        stream = _ConsoleHandler(sys.stdout)
        stream.setFormatter(logging.Formatter(_FORMAT))
        logger.addHandler(stream)
        _INITIALIZED.add(name)
    if log_file is not None and rank == 0:
        for handler in list(logger.handlers):
            if isinstance(handler, logging.FileHandler):
                logger.removeHandler(handler)
                handler.close()
        os.makedirs(os.path.dirname(os.path.abspath(log_file)), exist_ok=True)
        file_handler = logging.FileHandler(log_file, file_mode)
        file_handler.setFormatter(logging.Formatter(_FORMAT))
        logger.addHandler(file_handler)
    level = log_level if rank == 0 else logging.ERROR
    logger.setLevel(level)
    for handler in logger.handlers:
        handler.setLevel(level)
    return logger
