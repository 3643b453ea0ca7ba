"""Entry-point groups, one per kind of component."""
from __future__ import annotations

from ..errors import RegistryError

__all__ = ["GROUPS", "PREFIX", "PLUGIN_API_GROUP", "PLUGIN_API_VERSION", "full_group", "short_group"]

PREFIX = "segdet."
#: Version of the plugin API this core offers; a plugin declares the version it
#: was written for as ``[project.entry-points."segdet.plugin_api"] "1.0" = "its_package"``.
#: It is compatible when the majors are equal and its minor is not newer.
PLUGIN_API_VERSION = "1.0"
PLUGIN_API_GROUP = "segdet.plugin_api"

GROUPS: tuple[str, ...] = tuple(
    PREFIX + g
    for g in (
        "backbones",
        "necks",
        "heads",
        "losses",
        "detectors",
        "segmentors",
        "task_modules",
        "datasets",
        "transforms",
        "metrics",
        "hooks",
        "optimizers",
        "schedulers",
        "runners",
        "converters",
    )
)


def full_group(group: str) -> str:
    """``'necks'`` or ``'segdet.necks'`` -> ``'segdet.necks'``; unknown groups are an error."""
    name = group if group.startswith(PREFIX) else PREFIX + group
    if name not in GROUPS:
        known = ", ".join(short_group(g) for g in GROUPS)
        raise RegistryError(f"unknown component group {group!r}; groups are: {known}")
    return name


def short_group(group: str) -> str:
    """``'segdet.necks'`` -> ``'necks'``."""
    return group[len(PREFIX):] if group.startswith(PREFIX) else group
