"""`segdet convert` runs a converter found in the converters group on a real checkpoint."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import torch
import torchvision

SEGDET = str(Path(sys.executable).with_name("segdet"))


def test_convert_torchvision_resnet_end_to_end(tmp_path):
    src, dst = tmp_path / "tv_r18.pth", tmp_path / "out" / "segdet_r18.pth"
    tv = torchvision.models.resnet18()
    torch.save(tv.state_dict(), src)
    proc = subprocess.run([SEGDET, "convert", "torchvision-resnet", str(src), str(dst)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "torchvision-resnet (segdet-backbone-resnet" in proc.stdout
    ckpt = torch.load(dst, weights_only=False)
    state = ckpt["state_dict"]
    assert not any(k.startswith("fc.") for k in state)
    from segdet.registry import build

    backbone = build(dict(type="ResNet", depth=18), "backbones")
    backbone.load_state_dict(state, strict=True)
    assert torch.equal(backbone.conv1.weight, tv.conv1.weight)


def test_convert_unknown_name_suggests(tmp_path):
    src = tmp_path / "x.pth"
    torch.save({"a": torch.zeros(1)}, src)
    proc = subprocess.run([SEGDET, "convert", "torchvision-resnt", str(src), str(tmp_path / "y.pth")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert "torchvision-resnet" in proc.stderr and "converters" in proc.stderr
