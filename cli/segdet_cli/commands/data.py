"""``segdet data ...``: make data sets."""
from __future__ import annotations

import click


@click.group("data")
def data() -> None:
    """Make data sets (the embedded shapes set)."""


@data.command("shapes")
@click.option("--out", "out_dir", default="data/shapes", show_default=True, type=click.Path(file_okay=False),
              help="Folder to write images/, semantic/ and annotations/ into.")
@click.option("--seed", default=0, show_default=True, help="The whole set is a function of the seed.")
@click.option("--num-train", default=600, show_default=True, help="Training images.")
@click.option("--num-val", default=100, show_default=True, help="Validation images.")
@click.option("--img-size", default=128, show_default=True, help="Side of the square images in pixels.")
def shapes(out_dir: str, seed: int, num_train: int, num_val: int, img_size: int) -> None:
    """Write the shapes set: circles, squares and triangles on textured backgrounds, with COCO boxes,
    instance masks and a semantic-map PNG per image."""
    import time

    from segdet.data.shapes import make_shapes

    start = time.perf_counter()
    try:
        anns = make_shapes(out_dir, seed=seed, num_train=num_train, num_val=num_val, img_size=img_size)
    except ValueError as err:
        raise click.ClickException(str(err)) from err
    click.echo(f"wrote {num_train} train + {num_val} val images to {out_dir} in {time.perf_counter() - start:.1f}s")
    for split, path in anns.items():
        click.echo(f"  {split}: {path}")
