"""pytest plugin (entry point ``pytest11``): the ``segdet_component`` fixture.

A test asking for ``segdet_component`` runs once per installed component, or per
component of the groups named by ``@pytest.mark.segdet_group("necks", ...)``.
"""
from __future__ import annotations

from typing import Any

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "segdet_group(*groups): restrict segdet_component to these groups")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "segdet_component" not in metafunc.fixturenames:
        return
    from segdet.registry import components, full_group

    marker = metafunc.definition.get_closest_marker("segdet_group")
    groups = {full_group(g) for g in marker.args} if marker else None
    infos: list[Any] = [i for i in components() if groups is None or i.group in groups]
    infos = [i for i in infos if i.state == "ok"]
    metafunc.parametrize("segdet_component", infos,
                         ids=[f"{i.group.split('.')[-1]}/{i.name}" for i in infos])
