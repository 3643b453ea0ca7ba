"""``segdet env``: the facts to paste into a bug report."""
from __future__ import annotations

import platform
import subprocess
import sys

import click


def git_hash(path: str = ".") -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=path, capture_output=True,
                             text=True, timeout=5)
        return out.stdout.strip() or "n/a"
    except (OSError, subprocess.SubprocessError):
        return "n/a"


@click.command("env")
def env() -> None:
    """Show Python, torch, torchvision, CUDA/cuDNN, devices, segdet and plugin versions, git hash."""
    import torch
    import torchvision

    from segdet import __version__
    from segdet.registry import PLUGIN_API_VERSION, components

    rows = [
        ("Python", sys.version.split()[0] + f" ({platform.platform()})"),
        ("torch", torch.__version__),
        ("torchvision", torchvision.__version__),
        ("CUDA available", str(torch.cuda.is_available())),
        ("CUDA (build)", str(torch.version.cuda)),
        ("cuDNN", str(torch.backends.cudnn.version()) if torch.backends.cudnn.is_available() else "n/a"),
        ("devices", ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())) or "cpu"),
        ("CPU threads", str(torch.get_num_threads())),
        ("segdet", f"{__version__} (plugin API {PLUGIN_API_VERSION})"),
        ("git", git_hash()),
    ]
    dists = sorted({(i.distribution, i.version) for i in components()})
    rows += [(f"  {d}", v) for d, v in dists]
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        click.echo(f"{k:<{width}}  {v}")
