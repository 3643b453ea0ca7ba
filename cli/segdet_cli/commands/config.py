"""``segdet print-config`` and ``segdet check-config``."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click

from ._common import cfg_options_option, load_config


def check_config_problems(cfg: Mapping[str, Any]) -> list[str]:
    """Every type and constructor-argument problem of ``cfg``, plus custom_imports failures and
    unknown ``evaluation`` metrics or options."""
    from segdet.engine.config_check import check_training_config
    from segdet.errors import SegdetError
    from segdet.registry import import_custom_modules

    try:
        import_custom_modules(cfg.get("custom_imports"), source=str(getattr(cfg, "filename", "config")))
    except SegdetError as err:
        return [str(err)]
    problems = check_training_config(cfg)
    if not problems and isinstance(cfg.get("model"), Mapping):
        problems = _build_problems(cfg["model"])
    from segdet.engine.hooks.evaluation import evaluation_problems

    return problems + evaluation_problems(cfg)  # metric names and options, before any data is read


def _build_problems(model_cfg: Mapping[str, Any]) -> list[str]:
    """Build the model without allocating weights (meta device) to catch shape disagreements:
    channels a config gives that upstream does not produce, prior strides the neck does not have."""
    import torch

    from segdet.errors import SegdetError
    from segdet.models.builder import build_model

    try:
        with torch.device("meta"):
            build_model(model_cfg)
    except SegdetError as err:
        return [str(err)]
    except Exception:  # a component that cannot be built on the meta device: build it for real
        try:
            build_model(model_cfg)
        except Exception as err:
            return [f"model: building it failed: {type(err).__name__}: {err}"]
    return []


@click.command("print-config")
@click.argument("config", type=click.Path(exists=True, dir_okay=False))
@cfg_options_option
@click.option("--explain", "explain", default=None, metavar="KEY",
              help="Show where a value was set, e.g. model.neck.num_outs.")
def print_config(config: str, cfg_options: tuple[str, ...], explain: str | None) -> None:
    """Print the resolved config (after _base_ and --cfg-options) as Python."""
    cfg = load_config(config, cfg_options)
    if explain:
        try:
            chain = cfg.explain(explain)
        except (KeyError, AttributeError) as err:
            raise click.ClickException(str(err)) from err
        value: Any = cfg
        for part in explain.split("."):
            value = value[int(part)] if isinstance(value, (list, tuple)) else value[part]
        click.echo(f"{explain} = {value!r}")
        for i, origin in enumerate(chain):
            marker = "final" if i == len(chain) - 1 else "overridden"
            click.echo(f"  {i + 1}. {origin} ({marker})")
        return
    click.echo(cfg.pretty_text)


@click.command("check-config")
@click.argument("config", type=click.Path(exists=True, dir_okay=False))
@cfg_options_option
def check_config(config: str, cfg_options: tuple[str, ...]) -> None:
    """Check that every type resolves and every key fits its constructor; lists all problems."""
    from segdet.errors import SegdetError

    from ._datasets import pop_bad_sample_policies

    cfg = load_config(config, cfg_options)
    try:
        pop_bad_sample_policies(cfg)  # data.<split>.bad_samples is read by train, not by the data sets
    except SegdetError as err:
        raise click.ClickException(str(err)) from err
    problems = check_config_problems(cfg)
    if problems:
        for p in problems:
            click.echo(f"- {p}", err=True)
        raise click.ClickException(f"{config}: {len(problems)} problem(s)")
    click.echo(f"{config}: ok")
