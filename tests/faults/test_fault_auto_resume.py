"""``--auto-resume`` after damage: corrupt ``latest.pth`` / newest ``epoch_N.pth`` are passed over (and
said so), the newest intact checkpoint is used, temporary files of killed writes are removed."""
from __future__ import annotations

import logging
import os

import torch
from fault_helpers import run_segdet, snapshot

from segdet.engine.checkpoint import (
    find_resumable_checkpoint,
    read_checkpoint,
    remove_stale_tmp_files,
    write_checkpoint,
)


def _truncate(path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def test_fault_auto_resume_passes_over_corrupt_checkpoints(tmp_path, toy_config):
    cfg = toy_config()
    work = tmp_path / "work"
    first = run_segdet("train", str(cfg), "--work-dir", str(work), "--seed", "0", "--device", "cpu",
                       "--no-validate", cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    assert {"epoch_1.pth", "epoch_2.pth", "latest.pth"} <= {p.name for p in work.iterdir()}
    _truncate(work / "latest.pth")
    _truncate(work / "epoch_2.pth")
    stale = work / ".epoch_3.pth.k2j4h5.tmp"  # what a SIGKILL during atomic_write leaves
    stale.write_bytes(b"half a checkpoint")
    (work / "notes.txt").write_text("keep me\n")
    keep = {k: v for k, v in snapshot(work).items() if k in ("notes.txt", "epoch_1.pth")}

    proc = run_segdet("train", str(cfg), "--work-dir", str(work), "--seed", "0", "--device", "cpu",
                      "--no-validate", "--auto-resume", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out
    assert f"passed over {work / 'latest.pth'}" in out and f"passed over {work / 'epoch_2.pth'}" in out
    assert "corrupt, truncated" in out
    assert f"resuming from {work / 'epoch_1.pth'}" in out
    assert "resumed epoch 1" in out
    assert "removed 1 temporary file left by an interrupted checkpoint write" in out and stale.name in out
    assert not stale.exists()
    after = snapshot(work)
    assert {k: after[k] for k in keep} == keep
    assert read_checkpoint(str(work / "epoch_2.pth"))["meta"]["epoch"] == 2  # rewritten, intact
    assert read_checkpoint(str(work / "latest.pth"))["meta"]["epoch"] == 2


def test_find_resumable_checkpoint_reasons(tmp_path, caplog):
    state = {"w": torch.ones(2)}
    write_checkpoint({"state_dict": state, "meta": {"epoch": 3, "iter": 30}}, str(tmp_path / "epoch_3.pth"))
    write_checkpoint({"state_dict": state, "meta": {"epoch": 5, "iter": 50}}, str(tmp_path / "epoch_5.pth"))
    write_checkpoint({"state_dict": state}, str(tmp_path / "latest.pth"))  # weights only: not a resume point
    (tmp_path / "epoch_5.pth").write_bytes(b"\x00" * 10)
    os.utime(tmp_path / "latest.pth", (1, 1))
    os.utime(tmp_path / "epoch_5.pth", (2, 2))
    with caplog.at_level(logging.WARNING, logger="segdet"):
        path, skipped = find_resumable_checkpoint(str(tmp_path))
    assert path == str(tmp_path / "epoch_3.pth")
    # epoch_5.pth was written after latest.pth, so it is tried first
    assert [p for p, _ in skipped] == [str(tmp_path / "epoch_5.pth"), str(tmp_path / "latest.pth")]
    assert "corrupt" in skipped[0][1] and "no epoch/iter" in skipped[1][1]
    assert caplog.text.count("passed over") == 2
    (tmp_path / "epoch_3.pth").write_bytes(b"")
    assert find_resumable_checkpoint(str(tmp_path))[0] is None


def test_remove_stale_tmp_files_touches_only_checkpoint_temporaries(tmp_path):
    names = [".latest.pth.abc123.tmp", ".epoch_2.pth.x_9.tmp", "converted.pth.tmp"]
    others = ["data.tmp", ".cache.tmp", "epoch_1.pth", "notes.txt"]
    for name in names + others:
        (tmp_path / name).write_text("x")
    removed = remove_stale_tmp_files(str(tmp_path))
    assert sorted(p.rsplit("/", 1)[1] for p in removed) == sorted(names)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(others)
