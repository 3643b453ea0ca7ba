"""Shared files: found beside the checkout, skipped with a reason elsewhere, failed when CI asks."""
from __future__ import annotations

import subprocess
import sys
import textwrap

from segdet.testing.shared import reference_keys


def test_reference_keys_load_from_beside_the_checkout():
    keys = reference_keys()
    assert "retinanet/retinanet_r50_fpn_1x_coco.py" in keys


def _run_probe(tmp_path, env_extra):
    probe = tmp_path / "test_probe.py"
    probe.write_text(textwrap.dedent("""
        from segdet.testing.shared import shared_path

        def test_needs_missing_file():
            shared_path("no-such-folder", "x.json")
    """))
    env = {"PATH": "/usr/bin:/bin", "SEGDET_SHARED": str(tmp_path / "nowhere"), **env_extra}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", str(probe)],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)


def test_missing_file_skips_with_reason_outside_ci(tmp_path):
    proc = _run_probe(tmp_path, {})
    assert proc.returncode == 0, proc.stdout
    assert "1 skipped" in proc.stdout and "shared/no-such-folder/x.json" in proc.stdout


def test_missing_file_fails_when_ci_asks(tmp_path):
    proc = _run_probe(tmp_path, {"CI": "true"})
    assert proc.returncode != 0
    assert "1 failed" in proc.stdout and "required because CI" in proc.stdout
