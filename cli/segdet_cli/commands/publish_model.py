"""``segdet publish-model IN.pth OUT.pth``: strip training state from a checkpoint for release.

Keeps ``meta`` and ``state_dict``; drops the optimizer, the RNG states, the AMP grad scaler and
anything else only resuming needs. The written file is renamed ``OUT-<sha8>.pth`` where ``sha8``
is the first 8 hex digits of its SHA-256, as MMDetection's ``tools/model_converters/publish_model.py``.
"""
from __future__ import annotations

import hashlib
import os

import click

__all__ = ["publish_model", "publish_checkpoint"]

#: the keys a published checkpoint keeps
KEEP = ("meta", "state_dict")


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def publish_checkpoint(in_file: str, out_file: str) -> tuple[str, list[str]]:
    """Write ``in_file`` without training state to ``out_file``, then rename it with its hash.

    Returns:
        ``(final path, dropped top-level keys)``.
    """
    from segdet.engine.checkpoint import read_checkpoint, write_checkpoint
    from segdet.errors import CheckpointError

    checkpoint = read_checkpoint(in_file)
    if "state_dict" not in checkpoint:
        if checkpoint and all(hasattr(v, "shape") for v in checkpoint.values()):
            checkpoint = {"state_dict": checkpoint}  # a bare state dict
        else:
            raise CheckpointError(f"checkpoint {in_file!r} has no 'state_dict' (keys: {sorted(checkpoint)}); "
                                  "give a checkpoint written by `segdet train`")
    dropped = sorted(k for k in checkpoint if k not in KEEP)
    meta = dict(checkpoint.get("meta") or {})
    meta.pop("hook_msgs", None)  # best-checkpoint bookkeeping of the run
    published = {"meta": meta, "state_dict": checkpoint["state_dict"]}
    stem = out_file[:-4] if out_file.endswith(".pth") else out_file
    write_checkpoint(published, out_file)
    final = f"{stem}-{_sha256(out_file)[:8]}.pth"
    os.replace(out_file, final)
    return final, dropped


@click.command("publish-model")
@click.argument("in_file", metavar="IN.pth", type=click.Path(dir_okay=False))
@click.argument("out_file", metavar="OUT.pth", type=click.Path(dir_okay=False))
def publish_model(in_file: str, out_file: str) -> None:
    """Strip optimizer and other training state from IN.pth and write OUT-<sha8>.pth.

    The published file keeps the weights and the meta (classes, config, versions) and loads
    with torch.load(weights_only=True). sha8 is the first 8 hex digits of the file's SHA-256.
    """
    if not os.path.isfile(in_file):
        raise click.ClickException(f"{in_file}: no such checkpoint file; give the .pth file "
                                   "`segdet train` wrote (e.g. work_dirs/<config>/latest.pth)")
    if not out_file.endswith(".pth"):
        raise click.ClickException(f"{out_file}: the output name must end with .pth (e.g. model.pth)")
    final, dropped = publish_checkpoint(in_file, out_file)
    if dropped:
        click.echo(f"dropped: {', '.join(dropped)}")
    click.echo(f"published {final} ({os.path.getsize(final) / 1e6:.2f} MB)")
