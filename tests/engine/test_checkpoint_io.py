"""Atomic checkpoint writes (including a real SIGKILL mid-save), load_from reports, latest lookup."""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch
from torch import nn

from segdet.engine.checkpoint import (
    atomic_write,
    copy_checkpoint,
    find_latest_checkpoint,
    load_checkpoint,
    read_checkpoint,
    save_checkpoint,
    write_checkpoint,
)
from segdet.errors import CheckpointError


def test_save_and_load_round_trip(tmp_path):
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    path = tmp_path / "epoch_1.pth"
    save_checkpoint(model, str(path), optimizer=opt, meta=dict(epoch=1, iter=10, CLASSES=("a",)))
    other = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    ckpt = load_checkpoint(other, str(path), strict=True)
    assert ckpt["meta"]["CLASSES"] == ("a",) and "optimizer" in ckpt
    for a, b in zip(model.state_dict().values(), other.state_dict().values()):
        assert torch.equal(a, b)
    assert [p.name for p in tmp_path.iterdir()] == ["epoch_1.pth"]  # no temporary file left


def test_load_from_logs_missing_and_unexpected_keys(tmp_path, caplog):
    src = nn.Sequential(nn.Conv2d(3, 4, 3))
    path = tmp_path / "w.pth"
    save_checkpoint(src, str(path))
    dst = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Conv2d(4, 4, 1))
    with caplog.at_level(logging.WARNING, logger="segdet"):
        load_checkpoint(dst, str(path), logger=logging.getLogger("segdet"))
    assert "missing keys in source state_dict: 1.weight, 1.bias" in caplog.text
    with pytest.raises(CheckpointError, match="missing keys"):
        load_checkpoint(dst, str(path), strict=True)
    with pytest.raises(CheckpointError, match="does not exist"):
        read_checkpoint(str(tmp_path / "nope.pth"))


def test_failed_write_keeps_previous_file(tmp_path):
    path = str(tmp_path / "latest.pth")
    write_checkpoint({"n": 1}, path)

    class Boom:
        def __reduce__(self):
            raise RuntimeError("cannot pickle")

    # an object that would not load under weights_only=True is refused before anything is written
    with pytest.raises(CheckpointError, match=r"checkpoint\['bad'\] is a .*Boom"):
        write_checkpoint({"n": 2, "bad": Boom()}, path)
    assert read_checkpoint(path)["n"] == 1

    def failing_writer(f):
        f.write(b"partial")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(path, failing_writer)
    assert read_checkpoint(path)["n"] == 1
    assert os.listdir(tmp_path) == ["latest.pth"]


def test_find_latest(tmp_path):
    assert find_latest_checkpoint(str(tmp_path)) is None
    for n in (2, 10, 9):
        write_checkpoint({"n": n}, str(tmp_path / f"epoch_{n}.pth"))
    assert find_latest_checkpoint(str(tmp_path)).endswith("epoch_10.pth")
    copy_checkpoint(str(tmp_path / "epoch_9.pth"), str(tmp_path / "latest.pth"))
    assert find_latest_checkpoint(str(tmp_path)).endswith("latest.pth")


_SAVER = textwrap.dedent("""
    import sys, torch
    from segdet.engine.checkpoint import write_checkpoint, copy_checkpoint
    out = sys.argv[1]
    big = torch.randn(6_000_000)
    n = 0
    while True:
        n += 1
        big[0] = n
        write_checkpoint({"n": n, "big": big, "meta": {"epoch": n}}, out + "/epoch.pth")
        copy_checkpoint(out + "/epoch.pth", out + "/latest.pth")
        print(n, flush=True)
""")


@pytest.mark.slow
def test_sigkill_during_save_leaves_loadable_latest(tmp_path):
    script = tmp_path / "saver.py"
    script.write_text(_SAVER)
    for delay in (0.05, 0.13, 0.31):
        proc = subprocess.Popen([sys.executable, str(script), str(tmp_path)], stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout is not None
            first = proc.stdout.readline()  # one complete save exists
            assert first.strip() == "1"
            time.sleep(delay)
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        for name in ("latest.pth", "epoch.pth"):
            ckpt = read_checkpoint(str(tmp_path / name))
            assert ckpt["n"] >= 1 and ckpt["big"].numel() == 6_000_000
            assert float(ckpt["big"][0]) == ckpt["n"] == ckpt["meta"]["epoch"]


def test_training_checkpoint_meta(tmp_path):
    from segdet import testing as toy
    from segdet.engine.train import train_model
    from segdet.registry import build

    cfg = toy.toy_config(str(tmp_path), runner=dict(type="EpochBasedRunner", max_epochs=1))
    model = build(cfg["model"], "detectors")
    train_model(model, [build(cfg["data"]["train"], "datasets")], cfg, device="cpu",
                logger=logging.getLogger("segdet"))
    ckpt = read_checkpoint(str(tmp_path / "epoch_1.pth"))
    meta = ckpt["meta"]
    assert meta["CLASSES"] == ("red", "green", "blue") and meta["epoch"] == 1 and meta["iter"] == 4
    assert meta["segdet_version"] and meta["git_hash"] and meta["seed"] == 0 and meta["time"]
    assert "ToyDetector" in meta["config"]
    assert {"optimizer", "rng", "hooks", "state_dict"} <= set(ckpt)
    assert read_checkpoint(str(tmp_path / "latest.pth"))["meta"]["epoch"] == 1
