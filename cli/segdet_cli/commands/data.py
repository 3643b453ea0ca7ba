"""``segdet data ...``: make data sets. Heavy imports happen inside the commands."""
from __future__ import annotations

import click


@click.group()
def data() -> None:
    """Make data sets (e.g. the embedded shapes set)."""


@data.command()
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Target folder.")
@click.option("--seed", default=0, show_default=True, type=int, help="The set is a function of the seed.")
@click.option("--num-train", default=600, show_default=True, type=click.IntRange(min=0))
@click.option("--num-val", default=100, show_default=True, type=click.IntRange(min=0))
@click.option("--img-size", default=128, show_default=True, type=click.IntRange(min=64))
def shapes(out_dir: str, seed: int, num_train: int, num_val: int, img_size: int) -> None:
    """Write the COCO-format shapes set (circles, squares, triangles) to OUT."""
    from segdet.data.shapes import make_shapes

    paths = make_shapes(out_dir, seed=seed, num_train=num_train, num_val=num_val, img_size=img_size)
    for split, path in paths.items():
        click.echo(f"{split}: {path}")
