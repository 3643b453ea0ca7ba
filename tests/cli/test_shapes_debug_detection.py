"""`segdet train --debug` runs every shipped detection shapes config (issue 10: each shapes config trains)."""
from __future__ import annotations

import pytest

from .shapes_debug import make_data, run_debug, shapes_configs

CONFIGS = shapes_configs("detection")


@pytest.fixture(scope="module")
def shapes_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("shapes_detection")
    make_data(root)
    return root


def test_there_are_detection_shapes_configs():
    assert CONFIGS


@pytest.mark.slow
@pytest.mark.parametrize("config", CONFIGS)
def test_debug_train_runs(config, shapes_root):
    proc = run_debug(config, shapes_root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    work = shapes_root / config.rsplit("/", 1)[-1][:-3]
    assert list(work.glob("*.pth")), f"no checkpoint in {work}"
