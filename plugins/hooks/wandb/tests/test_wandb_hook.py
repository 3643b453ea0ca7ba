"""WandbLoggerHook in offline mode: the run file it leaves is read back record by record."""
from __future__ import annotations

import json
import struct
import time
from pathlib import Path

import pytest

from segdet.testing import LinearToy, linear_batches, register_training_hooks, toy_runner

pytest.importorskip("wandb")
pb = pytest.importorskip("wandb.proto.wandb_internal_pb2")


def _records(path: Path):
    """Records of a ``run-*.wandb`` file: a 7-byte header, then 32 KiB blocks of chunks with a
    7-byte header each (crc32, length, type: 1 full, 2 first, 3 middle, 4 last)."""
    data = path.read_bytes()
    assert data[:4] == b":W&B"
    pos, buf = 7, b""
    while pos + 7 <= len(data):
        left = 32768 - pos % 32768
        if left < 7:  # block tail padding
            pos += left
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        buf += data[pos + 7:pos + 7 + length]
        pos += 7 + length
        if kind in (1, 4):
            record = pb.Record()
            record.ParseFromString(buf)
            buf = b""
            yield record


def _finished_records(path: Path, timeout: float = 30.0) -> list:
    """The run file's records once its ``exit`` record is there (W&B's service process may still be
    writing when ``finish`` returns)."""
    deadline = time.monotonic() + timeout
    while True:
        records = list(_records(path))
        if any(r.WhichOneof("record_type") == "exit" for r in records) or time.monotonic() > deadline:
            return records
        time.sleep(0.2)


def test_offline_run_has_tags_config_and_metrics(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    runner = toy_runner(LinearToy(3, 1), work_dir=str(tmp_path / "work"), max_epochs=2, momentum=0.9)
    runner.tags = ["exp-a", "shapes"]
    runner.meta.update(exp_name="toy.py", seed=7, config="model = dict(type='X')\n")
    hook = dict(type="WandbLoggerHook", log_artifact=False,
                init_kwargs=dict(project="segdet-test", mode="offline", tags=["base"], config=dict(lr0=0.1)))
    register_training_hooks(runner, dict(
        lr_config=dict(policy="step", step=[1]),
        checkpoint_config=dict(interval=-1, save_last=False),
        log_config=dict(interval=2, hooks=[dict(type="TextLoggerHook"), hook])))
    runner.run([linear_batches(4, in_features=3, out_features=1)], [("train", 1)])

    (run_file,) = (tmp_path / "work" / "wandb").glob("offline-run-*/run-*.wandb")
    records = _finished_records(run_file)
    (run,) = [r.run for r in records if r.WhichOneof("record_type") == "run"]
    assert list(run.tags) == ["base", "exp-a", "shapes"]
    config = {i.key: json.loads(i.value_json) for i in run.config.update}
    assert config["exp_name"] == "toy.py" and config["seed"] == 7 and config["lr0"] == 0.1
    assert config["config_text"] == "model = dict(type='X')\n"
    history = [{i.key or "/".join(i.nested_key): json.loads(i.value_json) for i in r.history.item}
               for r in records if r.WhichOneof("record_type") == "history"]
    assert [h["_step"] for h in history] == [2, 4, 6, 8]
    assert [h["learning_rate"] for h in history] == pytest.approx([0.1, 0.1, 0.01, 0.01])
    assert all("train/loss" in h for h in history)
    assert any(r.WhichOneof("record_type") == "exit" for r in records)  # finished


def test_work_dir_files_logged_as_an_artifact(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_SILENT", "true")
    runner = toy_runner(LinearToy(3, 1), work_dir=str(tmp_path / "work"), max_epochs=1)
    hook = dict(type="WandbLoggerHook", init_kwargs=dict(project="segdet-test", mode="offline"))
    register_training_hooks(runner, dict(
        lr_config=dict(policy="fixed"), checkpoint_config=dict(interval=-1, save_last=False),
        log_config=dict(interval=2, hooks=[dict(type="TextLoggerHook"), hook])))
    runner.run([linear_batches(4, in_features=3, out_features=1)], [("train", 1)])
    (run_file,) = (tmp_path / "work" / "wandb").glob("offline-run-*/run-*.wandb")
    records = _finished_records(run_file)
    artifacts = [r.artifact for r in records if r.WhichOneof("record_type") == "artifact"]
    assert len(artifacts) == 1 and artifacts[0].type == "model"
    names = {Path(e.path).name for e in artifacts[0].manifest.contents}
    assert any(n.endswith(".log.json") for n in names)  # the JSON log TextLoggerHook wrote
