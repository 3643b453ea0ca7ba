"""Fixtures shared by core tests."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"

try:
    from hypothesis import settings
except ImportError:  # pragma: no cover - hypothesis is a test dependency
    settings = None
if settings is not None:
    # Property tests explore new examples on a developer's machine, but in CI (where ``CI`` is
    # set) they run a fixed, derandomised set, so a red build is reproducible and never random.
    # Loaded here, before test modules are imported, so their @settings(...) inherit it.
    settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
    settings.register_profile("explore", print_blob=True)
    settings.load_profile(os.environ.get("SEGDET_HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "explore"))


@pytest.fixture
def repo_root() -> Path:
    return REPO


@pytest.fixture
def shared_data() -> Path:
    return SHARED / "data"
