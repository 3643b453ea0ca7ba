"""``segdet check-data CONFIG``: check the data sets of a config before training."""
from __future__ import annotations

import copy
from collections.abc import Sequence

import click

from segdet.config import to_plain

from ._common import cfg_options_option, fail, load_config
from ._datasets import build_split, pop_bad_sample_policies


@click.command("check-data")
@click.argument("config", type=click.Path(exists=True, dir_okay=False))
@click.option("--split", "splits", multiple=True, type=click.Choice(["train", "val", "test"]),
              help="Only these splits (repeatable; default: train and val).")
@click.option("--no-decode", is_flag=True, help="Only check that files exist (do not decode every image).")
@click.option("--limit", default=20, show_default=True, help="Problems listed per split.")
@cfg_options_option
def check_data(config: str, splits: Sequence[str], no_decode: bool, limit: int, cfg_options: Sequence[str]) -> None:
    """Check every sample of the data sets of CONFIG: image files exist and decode (and match the
    annotated size), boxes have an area and lie in the image, categories are known, label maps
    exist. Prints a summary of what is wrong and where; exits 1 when anything is."""
    from segdet.data.check import check_dataset, checkable, summarize_problems
    from segdet.errors import SegdetError

    cfg = load_config(config, cfg_options)
    try:
        pop_bad_sample_policies(cfg)
    except SegdetError as err:
        fail(str(err))
    bad = 0
    for split in splits or ("train", "val"):
        ds_cfg = copy.deepcopy(to_plain((cfg.get("data") or {}).get(split)))
        if not ds_cfg:
            click.echo(f"data.{split}: not in the config")
            continue
        ds_cfg.pop("samples_per_gpu", None)
        try:
            dataset = build_split(split, ds_cfg, config, dict(test_mode=True) if split != "train" else None)
        except (SegdetError, FileNotFoundError) as err:
            fail(f"data.{split}: {err}")
        if not checkable(dataset) and not checkable(getattr(dataset, "dataset", None)):
            click.echo(f"data.{split}: {type(dataset).__name__} keeps no file list segdet can check; skipped")
            continue
        problems = check_dataset(dataset, decode=not no_decode)
        if problems:
            bad += len(problems)
            click.echo(summarize_problems(problems, f"{config}: data.{split}", limit=limit), err=True)
        else:
            click.echo(f"data.{split}: {len(dataset)} samples, no problem found")
    if bad:
        raise click.ClickException(f"{bad} problem{'s' if bad != 1 else ''} found in the data of {config}")
