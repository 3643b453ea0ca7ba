"""``segdet convert NAME IN OUT``: map another project's checkpoint keys to segdet's."""
from __future__ import annotations

import click


@click.command("convert")
@click.argument("name")
@click.argument("src", type=click.Path(exists=True, dir_okay=False))
@click.argument("dst", type=click.Path(dir_okay=False))
def convert(name: str, src: str, dst: str) -> None:
    """Run converter NAME (group converters, e.g. torchvision-resnet, swin) on SRC, write DST."""
    import os

    from segdet.engine.checkpoint import write_checkpoint
    from segdet.errors import SegdetError
    from segdet.models.weights import load_state_dict_file
    from segdet.registry import find_info, resolve

    try:
        info = find_info(name, "converters", where=f"segdet convert {name}")
        fn = resolve(name, "converters", where=f"segdet convert {name}")
        state = load_state_dict_file(src)
    except SegdetError as err:
        raise click.ClickException(str(err)) from err
    out = fn(dict(state))
    # atomic (temporary file + os.replace) and in the form torch.load(weights_only=True) reads
    write_checkpoint({"state_dict": out, "meta": {"converter": info.display_name, "source": os.path.abspath(src)}},
                     dst)
    click.echo(f"{info.display_name}: {len(state)} keys in {src} -> {len(out)} keys in {dst}")
