"""Loading a config stays light: no torch import, no temp files."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CHECK = """
import os, sys, tempfile
before = set(os.listdir(tempfile.gettempdir()))
from segdet.config import Config
cfg = Config.fromfile(sys.argv[1], cfg_options=['model.depth=18'])
assert cfg.model.depth == 18 and cfg.model.type == 'ResNet'
assert 'torch' not in sys.modules, 'loading a config imported torch'
assert set(os.listdir(tempfile.gettempdir())) == before, 'loading a config wrote temp files'
print('ok')
"""


def test_loading_does_not_import_torch_or_write_temp_files(write, tmp_path):
    write("base.py", "import math\nmodel = dict(type='ResNet', depth=50)\n")
    path = write("child.py", "_base_ = 'base.py'\nmodel = dict(depth={{_base_.model.depth}} + 1)\n")
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    out = subprocess.run(
        [sys.executable, "-c", CHECK, str(path)], capture_output=True, text=True, timeout=120,
        env={"PATH": "", "TMPDIR": str(tmpdir)},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
    assert Path(path).exists()
