"""Helpers shared by commands: config loading with errors turned into clean CLI messages."""
from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast

import click

F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["GreedyOption", "cfg_options_option", "load_config", "fail"]


class GreedyOption(click.Option):
    """An option taking every following word up to the next ``-`` option, like argparse's
    ``nargs='+'`` (``--cfg-options a=1 b=2``, ``--eval bbox segm``). Use with ``multiple=True``;
    repeated flags accumulate. Put positional arguments before it."""

    def add_to_parser(self, parser: Any, ctx: click.Context) -> Any:
        result = super().add_to_parser(parser, ctx)
        for name in self.opts:
            opt = parser._long_opt.get(name) or parser._short_opt.get(name)
            if opt is None:
                continue
            previous = opt.process

            def process(value: Any, state: Any, previous: Any = previous) -> None:
                values = [value]
                while state.rargs and not state.rargs[0].startswith("-"):
                    values.append(state.rargs.pop(0))
                for v in values:
                    previous(v, state)

            opt.process = process
        return result


def cfg_options_option(func: F) -> F:
    """``--cfg-options a.b=1 'c=[1,2]'``: several items after one flag, as in MMCV's tools.

    ``--options`` (MMDetection 2.x's old name) is accepted too, with a deprecation line.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, legacy_options: tuple[str, ...] = (), cfg_options: tuple[str, ...] = (),
                **kwargs: Any) -> Any:
        if legacy_options:
            click.echo("segdet: --options is deprecated and will be removed; use --cfg-options "
                       "(same syntax)", err=True)
        return func(*args, cfg_options=tuple(cfg_options) + tuple(legacy_options), **kwargs)

    wrapper = click.option("--options", "legacy_options", cls=GreedyOption, multiple=True, hidden=True,
                           help="Deprecated name of --cfg-options.")(wrapper)
    return cast(F, click.option(
        "--cfg-options", "cfg_options", cls=GreedyOption, multiple=True, metavar="KEY=VALUE ...",
        help="Override config keys, e.g. model.neck.num_outs=4 'data.samples_per_gpu=2'.",
    )(wrapper))


def load_config(path: str, cfg_options: Sequence[str] = ()) -> Any:
    """``Config.fromfile`` with ``--cfg-options`` applied; segdet errors become CLI errors."""
    from segdet.config import Config, parse_cfg_options
    from segdet.config.legacy import upgrade_legacy_keys
    from segdet.errors import SegdetError

    try:
        options = parse_cfg_options(list(cfg_options)) if cfg_options else None
        cfg = Config.fromfile(path, cfg_options=options)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            for message in upgrade_legacy_keys(cfg, source=path):
                click.echo(f"segdet: {message}", err=True)
        return cfg
    except SegdetError as err:
        raise click.ClickException(str(err)) from err


def fail(message: str) -> None:
    raise click.ClickException(message)
