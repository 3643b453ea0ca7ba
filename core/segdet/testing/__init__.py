"""Contract checks every installed component must pass, and a pytest plugin running them.

A plugin's own tests then only add what is special to it::

    # plugins/necks/mine/tests/test_contract.py
    import pytest

    @pytest.mark.segdet_group("necks")
    def test_contract(segdet_component):
        from segdet.testing import assert_component_contract
        assert_component_contract(segdet_component)
"""
from __future__ import annotations

import inspect
from typing import Any

from ..registry import ComponentInfo
from ..registry.build import _load

__all__ = ["component_contract_problems", "assert_component_contract"]

# torch.optim classes are registered as they are; their signatures are torch's business.
_FOREIGN_OK = ("torch.",)


def component_contract_problems(info: ComponentInfo) -> list[str]:
    """What ``info``'s component breaks of the component contract (empty when it is fine).

    The contract: it imports; it is callable; its constructor takes explicit keyword
    arguments (no ``**kwargs`` swallowing unknown keys); it has a docstring whose first
    line summarises it.
    """
    problems: list[str] = []
    try:
        obj: Any = _load(info)
    except Exception as err:  # reported, not raised: the listing goes on
        return [f"{info.display_name}: does not import: {err}"]
    if info.target.startswith(_FOREIGN_OK):
        return problems
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return [f"{info.display_name}: has no inspectable signature"]
    for name, param in sig.parameters.items():
        if param.kind is inspect.Parameter.VAR_KEYWORD:
            problems.append(f"{info.display_name}: swallows unknown keys with **{name}; name every argument")
    doc = inspect.getdoc(obj) or ""
    if not doc.strip():
        problems.append(f"{info.display_name}: has no docstring")
    return problems


def assert_component_contract(info: ComponentInfo) -> None:
    problems = component_contract_problems(info)
    assert not problems, "\n".join(problems)
