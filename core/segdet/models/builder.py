"""Build models from config sections, filling and checking channels from upstream modules."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ShapeMismatchError, UnknownComponentError
from ..registry import build, components, describe_location

__all__ = ["build_model", "build_downstream", "output_channels"]


def output_channels(module: Any) -> Any:
    """Channels a backbone or neck declares (``out_channels``: int or list of ints)."""
    channels = getattr(module, "out_channels", None)
    if channels is None:
        raise ShapeMismatchError(
            f"{type(module).__name__} does not declare out_channels; a component feeding another "
            "must expose its output channels (and strides) as attributes"
        )
    return list(channels) if isinstance(channels, (list, tuple)) else channels


def build_downstream(cfg: Mapping[str, Any], group: str, upstream: Any,
                     key: str = "in_channels", select: Any = None) -> Any:
    """Build ``cfg`` with ``in_channels`` taken from ``upstream`` when the config leaves it out.

    Args:
        cfg: the component's config section.
        group: its entry-point group.
        upstream: the module whose ``out_channels`` feed this one.
        key: the constructor argument holding the input channels.
        select: optional function mapping upstream channels to what this component takes
            (e.g. a head takes one int from a neck's uniform list).

    Raises:
        ShapeMismatchError: the config gives channels that disagree with upstream, naming
            the key path, where it was set, and what upstream provides.
    """
    provided = output_channels(upstream)
    if select is not None:
        provided = select(provided)
    if key in cfg and cfg[key] is not None:
        given = cfg[key]
        norm_given = list(given) if isinstance(given, (list, tuple)) else given
        if norm_given != provided:
            raise ShapeMismatchError(
                f"{describe_location(cfg, key)} is {given!r} but {type(upstream).__name__} "
                f"produces {provided!r} channels; remove {key} to take it from upstream, or set it to {provided!r}"
            )
        return build(cfg, group)
    return build(cfg, group, default_args={key: provided})


def build_model(cfg: Mapping[str, Any]) -> Any:
    """Build a detector or segmentor from ``cfg.model``; the group follows from ``type``."""
    kind = cfg.get("type")
    name = kind.split(":", 1)[-1] if isinstance(kind, str) else None
    for group in ("detectors", "segmentors"):
        if name is None or any(i.name == name for i in components(group)):
            return build(cfg, group)
    raise UnknownComponentError(
        f"{describe_location(cfg)}: model type {kind!r} is neither a detector nor a segmentor; installed: "
        + ", ".join(sorted({i.name for g in ('detectors', 'segmentors') for i in components(g)}))
    )
