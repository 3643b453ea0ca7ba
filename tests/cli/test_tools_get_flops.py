"""``segdet get-flops``: torch's FLOP counter over a config's model, per module and in total."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SEGDET = str(Path(sys.executable).parent / "segdet")

PLAIN_NET = textwrap.dedent("""
    from torch import nn
    from segdet.registry.local import register


    @register("detectors", force=True)
    class PlainConvNet(nn.Module):
        def __init__(self, width: int = 8) -> None:
            super().__init__()
            self.backbone = nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.ReLU())
            self.head = nn.Conv2d(width, 4, 1, stride=2)

        def forward_dummy(self, img):
            return self.head(self.backbone(img))
""")


def _segdet(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(cwd))
    proc = subprocess.run([SEGDET, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    if check:
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return proc


def _table(stdout: str) -> dict[str, str]:
    rows = {}
    for line in stdout.splitlines():
        parts = line.split()
        if parts and (parts[0].startswith(("backbone", "head", "neck", "decode_head", "bbox_head"))):
            rows[parts[0]] = line
    return rows


def test_plain_conv_net_flops_equal_hand_count(tmp_path):
    (tmp_path / "plain_net_mod.py").write_text(PLAIN_NET)
    cfg = tmp_path / "plain.py"
    cfg.write_text("custom_imports = dict(imports=['plain_net_mod'])\n"
                   "model = dict(type='PlainConvNet', width=8)\n")
    proc = _segdet("get-flops", str(cfg), "--shape", "32", "48", cwd=tmp_path)
    # conv 3->8, 3x3, padding 1 on 32x48: 2 * (3*9) * 8 * 32*48 multiply-adds counted twice;
    # conv 8->4, 1x1, stride 2 on a 16x24 output: 2 * 8 * 4 * 16*24 (bias adds are not counted)
    conv1 = 2 * 3 * 9 * 8 * 32 * 48
    conv2 = 2 * 8 * 4 * 16 * 24
    assert f"FLOPs: {conv1 + conv2}\n" in proc.stdout
    assert f"Params: {3 * 9 * 8 + 8 + 8 * 4 + 4}\n" in proc.stdout
    assert "Input shape: (1, 3, 32, 48)" in proc.stdout
    rows = _table(proc.stdout)
    assert set(rows) == {"backbone", "backbone.0", "backbone.1", "head"}
    assert "663.552 K" in rows["backbone"] and "663.552 K" in rows["backbone.0"] and conv1 == 663552
    assert "24.576 K" in rows["head"] and conv2 == 24576


@pytest.mark.parametrize("config", ["retinanet/retinanet_r18_fpn_shapes.py", "pspnet/pspnet_r18-d8_shapes.py"])
def test_real_models_split_flops_over_modules(tmp_path, config):
    proc = _segdet("get-flops", str(ROOT / "configs" / config), "--shape", "64", "64", "--depth", "1", cwd=tmp_path)
    total = int(re.search(r"^FLOPs: (\d+)$", proc.stdout, re.M).group(1))
    assert total > 1e6
    rows = _table(proc.stdout)
    head = "bbox_head" if "retina" in config else "decode_head"
    assert {"backbone", head} <= set(rows)
    shares = [float(line.split()[-1].rstrip("%")) for line in rows.values()]
    assert 99.0 <= sum(shares) <= 100.5  # every counted FLOP sits in one top-level module


def test_get_flops_errors(tmp_path):
    proc = _segdet("get-flops", str(tmp_path / "missing.py"), cwd=tmp_path, check=False)
    assert proc.returncode != 0 and "missing.py" in proc.stderr
    cfg = tmp_path / "nomodel.py"
    cfg.write_text("x = 1\n")
    proc = _segdet("get-flops", str(cfg), cwd=tmp_path, check=False)
    assert proc.returncode != 0 and "no 'model' section" in proc.stderr
