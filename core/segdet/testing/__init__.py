"""Contract checks every installed component must pass, and a pytest plugin running them.

A plugin's own tests then only add what is special to it::

    # tests/test_my_neck.py of a plugin distribution
    import pytest
    from segdet.testing import check_component

    @pytest.mark.segdet_component("MyNeck", "necks", in_channels=[8, 16, 32], out_channels=8)
    def test_contract(segdet_component):          # built and checked by the fixture
        assert segdet_component.out_channels == [8, 8, 8]

    def test_more():
        neck = check_component("MyNeck", "necks", in_channels=[8, 16], out_channels=4)

See docs/PLUGINS.md and :mod:`segdet.testing.contracts` for what each group is checked for.
"""
from __future__ import annotations

from typing import Any

from .contracts import (
    ContractCase,
    ContractViolation,
    assert_component_contract,
    check_component,
    component_contract_problems,
    component_problems,
    default_results,
    static_problems,
)

_TOYS = (
    "EpochBasedRunner",
    "IterBasedRunner",
    "LinearToy",
    "PixelCrossEntropy",
    "linear_batches",
    "read_checkpoint",
    "register_training_hooks",
    "registered",
    "toy_runner",
)

__all__ = [
    "ContractCase",
    "ContractViolation",
    "assert_component_contract",
    "check_component",
    "component_contract_problems",
    "component_problems",
    "default_results",
    "static_problems",
    # toys (segdet.testing.toys, imported on first use: the pytest plugin stays light)
    *_TOYS,
    "ToyDataset",
    "ToyDetector",
    "toy_config",
]


#: the toy detector, data set and their config (importing them registers the toys)
_TOY_DETECTION = ("ToyDataset", "ToyDetector", "toy_config")


def __getattr__(name: str) -> Any:
    if name in _TOYS:
        from . import toys

        return getattr(toys, name)
    if name in _TOY_DETECTION:
        from . import toy_detection

        return getattr(toy_detection, name)
    raise AttributeError(f"module 'segdet.testing' has no attribute {name!r}")
