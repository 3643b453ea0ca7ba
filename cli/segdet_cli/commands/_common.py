"""Helpers shared by commands: config loading with errors turned into clean CLI messages."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["cfg_options_option", "load_config", "fail"]


def cfg_options_option(func: F) -> F:
    """``--cfg-options a.b=1 'c=[1,2]'``: may be given several items after one flag, or repeated."""
    return click.option(
        "--cfg-options", "cfg_options", multiple=True, metavar="KEY=VALUE ...",
        help="Override config keys, e.g. model.neck.num_outs=4 'data.samples_per_gpu=2'.",
    )(func)


def split_options(items: Sequence[str]) -> list[str]:
    """Allow ``--cfg-options a=1 b=2`` passed through shells as one or several items."""
    out: list[str] = []
    for item in items:
        out.extend(item.split(" ") if "=" in item and " " in item and "'" not in item and '"' not in item else [item])
    return [o for o in out if o]


def load_config(path: str, cfg_options: Sequence[str] = ()) -> Any:
    """``Config.fromfile`` with ``--cfg-options`` applied; segdet errors become CLI errors."""
    from segdet.config import Config, parse_cfg_options
    from segdet.errors import SegdetError

    try:
        options = parse_cfg_options(split_options(cfg_options)) if cfg_options else None
        return Config.fromfile(path, cfg_options=options)
    except SegdetError as err:
        raise click.ClickException(str(err)) from err


def fail(message: str) -> None:
    raise click.ClickException(message)
