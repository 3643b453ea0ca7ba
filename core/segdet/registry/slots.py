"""What a component declares about itself: the child components it builds from its arguments.

A parent names each child slot once, on its class::

    class TwoStageDetector(BaseDetector):
        slots = {
            "backbone": Slot("backbones"),
            "neck": Slot("necks", fills=("in_channels",)),
            "rpn_head": Slot("heads", fills=("in_channels",),
                             passes={"train_cfg": "train_cfg.rpn", "test_cfg": "test_cfg.rpn"}),
        }

``check-config`` and the builder read these declarations; the core keeps no table of
config keys.  A slot key may be a dotted path into the component's own arguments
(``"train_cfg.assigner"``); a list value holds one child per item.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

__all__ = ["Slot", "slots_of"]


def _frozen_map(value: Mapping[str, str] | None) -> Mapping[str, str]:
    return dict(value or {})


def _names(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


@attrs.frozen
class Slot:
    """One child slot of a component.

    Args:
        group: entry-point group the child is built from (``'heads'`` or ``'segdet.heads'``).
        fills: constructor arguments of the child that the parent supplies when it builds it
            (``in_channels``, ``num_classes``, ...); a config may leave them out.
        passes: child argument -> dotted key of the *parent's* arguments whose value the
            parent hands down (``{"train_cfg": "train_cfg.rpn"}``), so a check of the child
            sees what the build will see.
        optional: the slot may be absent or ``None``.
    """

    group: str
    fills: tuple[str, ...] = attrs.field(default=(), converter=_names)
    passes: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen_map)
    optional: bool = True


def slots_of(component: Any) -> dict[str, Slot]:
    """Slots a class (or an instance's class) declares, merged along its MRO (subclass wins)."""
    cls = component if isinstance(component, type) else type(component)
    merged: dict[str, Slot] = {}
    for klass in reversed(cls.__mro__):
        declared = klass.__dict__.get("slots")
        if isinstance(declared, Mapping):
            merged.update(declared)
    return merged
