"""The toy detector and data set of :mod:`segdet.testing.toy_detection`, under the module name
older configs import (``custom_imports=dict(imports=['segdet_toy_components'])``, with this folder
on PYTHONPATH), plus the linear toys of :mod:`segdet.testing`."""
from __future__ import annotations

from segdet.testing import LinearToy, linear_batches
from segdet.testing.toy_detection import ToyDataset, ToyDetector, parse_losses, toy_config

__all__ = ["LinearToy", "ToyDataset", "ToyDetector", "linear_batches", "parse_losses", "toy_config"]
