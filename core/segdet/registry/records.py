"""Small immutable records describing discovered components."""
from __future__ import annotations

import attrs

from .groups import short_group

__all__ = ["ComponentInfo", "LOCAL", "OK", "CLASH", "INCOMPATIBLE"]

OK = "ok"
CLASH = "clash"
INCOMPATIBLE = "incompatible"
#: distribution name shown for components registered in-process
LOCAL = "<local>"


@attrs.frozen(order=True)
class ComponentInfo:
    """One entry point: ``name`` in ``group``, provided by ``distribution``.

    ``target`` is the ``module:attr`` reference (or ``module:qualname`` of a
    locally registered object); nothing is imported to build this record.
    """

    group: str
    name: str
    distribution: str
    version: str
    target: str
    state: str = OK
    api: str = ""

    @property
    def display_name(self) -> str:
        """``FPN (segdet-neck-fpn 0.1.0)``, the form used in every message."""
        if self.distribution == LOCAL:
            return f"{self.name} (local {self.target})"
        return f"{self.name} ({self.distribution} {self.version})"

    @property
    def qualified_name(self) -> str:
        """``segdet-neck-fpn:FPN``, accepted as a ``type`` to pick one of clashing names."""
        return f"{self.distribution}:{self.name}"

    def as_dict(self) -> dict[str, str]:
        d = attrs.asdict(self)
        d["group"] = short_group(self.group)
        return d
