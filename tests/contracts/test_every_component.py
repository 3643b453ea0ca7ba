"""Every installed component of every group keeps the component contract."""
from __future__ import annotations

from segdet.testing import assert_component_contract


def test_component_contract(segdet_component):
    assert_component_contract(segdet_component)
