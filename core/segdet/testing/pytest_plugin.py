"""pytest plugin (entry point ``pytest11``, active wherever segdet is installed): ``segdet_component``.

Two ways to use the fixture:

* With ``@pytest.mark.segdet_component(name, group, inputs=None, **tiny_kwargs)`` (the
  marker may be stacked, one test per marker) the fixture is the component built from
  ``tiny_kwargs`` after :func:`segdet.testing.check_component` found it keeps its group's
  contract; a broken contract fails the test with every problem listed::

      @pytest.mark.segdet_component("MyNeck", "necks", in_channels=[8, 16, 32], out_channels=8)
      def test_my_neck(segdet_component):
          assert segdet_component.strides == [8, 16, 32]

* Without it, the test runs once per installed component (a
  :class:`~segdet.api.ComponentInfo`), or per component of the groups named by
  ``@pytest.mark.segdet_group("necks", ...)``, for checks that need no arguments
  (:func:`segdet.testing.static_problems`).
"""
from __future__ import annotations

from typing import Any

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "segdet_component(name, group, inputs=None, **kwargs): build and contract-check this "
                   "component; the segdet_component fixture is the instance")
    config.addinivalue_line("markers", "segdet_group(*groups): restrict segdet_component to these groups")


def _cases(metafunc: pytest.Metafunc) -> list[Any]:
    from .contracts import ContractCase

    cases = []
    for mark in metafunc.definition.iter_markers("segdet_component"):
        if len(mark.args) != 2:
            raise pytest.UsageError(
                f"{metafunc.definition.nodeid}: @pytest.mark.segdet_component takes (name, group, **kwargs), "
                f"got args {mark.args!r}")
        kwargs = dict(mark.kwargs)
        inputs = kwargs.pop("inputs", None)
        cases.append(ContractCase(name=mark.args[0], group=mark.args[1], kwargs=kwargs, inputs=inputs))
    return cases[::-1]  # decorators apply bottom-up; keep the order they are written in


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "segdet_component" not in metafunc.fixturenames:
        return
    cases = _cases(metafunc)
    if cases:
        ids = [c.id for c in cases]
        metafunc.parametrize("segdet_component", cases, ids=ids, indirect=True)
        return
    from segdet.registry import components, full_group

    marker = metafunc.definition.get_closest_marker("segdet_group")
    groups = {full_group(g) for g in marker.args} if marker else None
    infos: list[Any] = [i for i in components() if groups is None or i.group in groups]
    infos = [i for i in infos if i.state == "ok"]
    metafunc.parametrize("segdet_component", infos, indirect=True,
                         ids=[f"{i.group.split('.')[-1]}/{i.name}" for i in infos])


@pytest.fixture
def segdet_component(request: pytest.FixtureRequest) -> Any:
    """The component under test: built and contract-checked (marker form) or its ``ComponentInfo``."""
    from .contracts import ContractCase

    param = getattr(request, "param", None)
    if isinstance(param, ContractCase):
        return param.check()
    return param
