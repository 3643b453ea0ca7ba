"""MMCV's ``file_client_args`` as configs write them: segdet reads from the local disk only."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError

__all__ = ["check_file_client_args"]

_DISK = ("disk", "HardDiskBackend")


def check_file_client_args(args: Mapping[str, Any] | None, owner: str) -> None:
    """Accept ``None`` or ``dict(backend='disk')``; any other backend or option is a ConfigError.

    Args:
        args: the ``file_client_args`` a config gave to a loader or data set.
        owner: who received it, named in the message (``'LoadImageFromFile'``).
    """
    if args is None:
        return
    if not isinstance(args, Mapping):
        raise ConfigError(f"{owner}: file_client_args must be a dict such as dict(backend='disk'), got {args!r}")
    backend = args.get("backend", "disk")
    if backend not in _DISK:
        raise ConfigError(
            f"{owner}: file_client_args.backend={backend!r} is not supported: segdet reads files from the local "
            "disk only (mount the storage or copy the data, then use file_client_args=dict(backend='disk') "
            "or drop file_client_args)")
    extra = sorted(set(args) - {"backend"})
    if extra:
        raise ConfigError(f"{owner}: file_client_args has options {extra} that the disk backend does not take; "
                          "use file_client_args=dict(backend='disk')")
