"""``segdet train`` killed with SIGKILL at 20 random (seeded) moments — during iterations, checkpoint
writes and evaluation — and restarted each time with ``--auto-resume`` ends with the same parameters
as an uninterrupted run, leaves no temporary file and never shows a traceback.

The moments are chosen by output, not by time: run ``k`` is killed as soon as it prints the
``n``-th line of a seeded kind (an iteration log line, "Saving checkpoint", a validation line),
counted from its resume point. A run gets at most one epoch further before it dies, so with more
epochs than kills every one of the 20 runs is killed, on any machine and under any load.
"""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys

import pytest
import torch
from fault_helpers import SEGDET, TOY_DIR, run_segdet

KILLS = 20
EPOCHS = KILLS + 2  # each killed run finishes at most one epoch: the 20th kill still comes
ARGS = ("--seed", "0", "--device", "cpu", "--cfg-options", f"runner.max_epochs={EPOCHS}",
        "log_config.interval=1")


def _killed_run(cfg, work, cwd, trigger: str, occurrence: int) -> tuple[bool, str]:
    """Start ``train --auto-resume``; SIGKILL it on the ``occurrence``-th line containing ``trigger``
    after its resume point. Returns (killed, output)."""
    env = dict(os.environ, PYTHONPATH=str(TOY_DIR), OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([SEGDET, "train", str(cfg), "--work-dir", str(work), "--auto-resume", *ARGS],
                            cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    assert proc.stdout is not None
    started = False
    seen = 0
    for line in proc.stdout:
        lines.append(line)
        started = started or "Start running" in line
        seen += started and trigger in line
        if seen == occurrence:
            proc.send_signal(signal.SIGKILL)
            break
    rest = proc.communicate(timeout=600)[0] or ""
    return proc.returncode == -signal.SIGKILL, "".join(lines) + rest


@pytest.mark.slow
def test_fault_sigkill_at_random_moments_then_auto_resume(tmp_path, toy_config):
    cfg = toy_config()
    reference = tmp_path / "reference"
    ref = run_segdet("train", str(cfg), "--work-dir", str(reference), *ARGS, cwd=tmp_path)
    assert ref.returncode == 0, ref.stderr[-3000:]

    work = tmp_path / "work"
    rng = random.Random(0)
    kills = 0
    for attempt in range(KILLS):
        trigger = rng.choice(["Epoch [", "Saving checkpoint", "Epoch(val)"])
        # iteration lines: 4 per epoch, so the kill lands inside the first epoch after the resume
        occurrence = rng.randint(1, 4) if trigger == "Epoch [" else 1
        killed, out = _killed_run(cfg, work, tmp_path, trigger, occurrence)
        assert "Traceback" not in out, out[-3000:]
        if attempt and (work / "latest.pth").exists():
            assert "auto-resume: resuming from" in out or "starting from scratch" in out, out[-3000:]
        assert killed, f"run {attempt} ended before its trigger {trigger!r} #{occurrence}:\n{out[-3000:]}"
        kills += 1
    assert kills == KILLS
    final = run_segdet("train", str(cfg), "--work-dir", str(work), "--auto-resume", *ARGS, cwd=tmp_path)
    assert final.returncode == 0, final.stdout[-3000:] + final.stderr[-3000:]
    assert not list(work.glob("*.tmp")) and not list(work.glob(".*.tmp"))
    want = torch.load(reference / f"epoch_{EPOCHS}.pth", weights_only=True)
    got = torch.load(work / f"epoch_{EPOCHS}.pth", weights_only=True)
    assert got["meta"]["epoch"] == want["meta"]["epoch"] == EPOCHS
    assert want["state_dict"].keys() == got["state_dict"].keys()
    for key, value in want["state_dict"].items():
        assert torch.equal(value, got["state_dict"][key]), key


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
