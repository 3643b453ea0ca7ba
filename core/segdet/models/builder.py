"""Build models from config sections, filling and checking channels from upstream modules."""
from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from ..errors import RegistryError, ShapeMismatchError, UnknownComponentError
from ..registry import build, components, describe_location, resolve

__all__ = ["build_model", "build_downstream", "check_prior_strides", "output_channels"]


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
    defaults: dict[str, Any] = {}
    strides = getattr(upstream, "strides", None)
    if select is None and strides is not None and _accepts(cfg, group, "in_strides"):
        # A component that computes its own output strides (FPN, BiFPN) gets the upstream's.
        defaults["in_strides"] = list(strides)
    if key in cfg and cfg[key] is not None:
        given = cfg[key]
        norm_given = list(given) if isinstance(given, (list, tuple)) else given
        if norm_given != provided:
            raise ShapeMismatchError(
                f"{describe_location(cfg, key)} is {given!r} but {type(upstream).__name__} "
                f"produces {provided!r} channels; remove {key} to take it from upstream, or set it to {provided!r}"
            )
        return build(cfg, group, default_args=defaults or None)
    return build(cfg, group, default_args={key: provided, **defaults})


def _accepts(cfg: Mapping[str, Any], group: str, arg: str) -> bool:
    kind = cfg.get("type")
    try:
        obj = resolve(kind, group, describe_location(cfg)) if isinstance(kind, str) else kind
        return obj is not None and arg in inspect.signature(obj).parameters
    except (RegistryError, TypeError, ValueError):
        return False


def check_prior_strides(head: Any, upstream: Any, head_cfg: Mapping[str, Any]) -> None:
    """The head's prior generator must place priors at the strides of the maps it receives.

    Raises:
        ShapeMismatchError: naming the generator's ``strides`` key and the upstream's strides,
            e.g. a neck with ``num_outs=4`` feeding an anchor generator of 5 strides.
    """
    generator = getattr(head, "prior_generator", None)
    given = getattr(generator, "strides", None)
    produced = getattr(upstream, "strides", None)
    if given is None or produced is None:
        return
    given_x = [s[0] if isinstance(s, (tuple, list)) else s for s in given]
    if [int(s) for s in given_x] != [int(s) for s in produced]:
        gen_key = next((k for k in ("anchor_generator", "prior_generator", "point_generator")
                        if isinstance(head_cfg.get(k), Mapping)), None)
        where = describe_location(head_cfg[gen_key], "strides") if gen_key else \
            f"{describe_location(head_cfg, 'type')} (its default prior generator)"
        raise ShapeMismatchError(
            f"{where} places priors at strides {given_x} but {type(upstream).__name__} produces maps "
            f"at strides {list(produced)}; make them agree (one stride per output of the neck, e.g. "
            f"set the strides to {list(produced)} or change the neck's num_outs/start_level)"
        )


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
