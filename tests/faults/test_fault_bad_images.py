"""A missing or corrupt image read in a DataLoader worker: the user sees the original error (not the
worker's traceback), the img_prefix hint only for a missing file; ``--debug`` / ``SEGDET_DEBUG=1``
show the traceback of an unexpected error, which is otherwise one short line."""
from __future__ import annotations

import json

import pytest
from fault_helpers import (
    assert_clean_failure,
    coco_config,
    run_segdet,
    snapshot,
    write_coco,
    write_images,
)


def _setup(tmp_path, workers: int = 1):
    files = ["a.png", "b.png", "c.png", "d.png"]
    write_images(tmp_path / "images", files)
    train = write_coco(tmp_path / "ann", "train.json", files)
    val = write_coco(tmp_path / "ann", "val.json", files)
    cfg = coco_config(tmp_path, train, val, tmp_path / "images", workers=workers)
    work = tmp_path / "work"
    work.mkdir()
    (work / "keep.txt").write_text("x")
    return cfg, work, train


def test_fault_missing_image_in_worker(tmp_path):
    cfg, work, _ = _setup(tmp_path)
    (tmp_path / "images" / "b.png").unlink()
    before = snapshot(work)
    proc = run_segdet("train", str(cfg), "--work-dir", str(work), "--device", "cpu", "--no-validate",
                      "--seed", "0", "--no-data-check", cwd=tmp_path)  # so the worker meets the file
    message = assert_clean_failure(proc, str(tmp_path / "images" / "b.png"), "does not exist", "img_prefix",
                                   "DataLoader worker")
    assert "Original Traceback" not in message and 'File "' not in message
    after = snapshot(work)
    assert {k: after[k] for k in before} == before and not list(work.glob("*.pth"))


def test_fault_corrupt_image_in_worker(tmp_path):
    cfg, work, _ = _setup(tmp_path)
    (tmp_path / "images" / "c.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    proc = run_segdet("train", str(cfg), "--work-dir", str(work), "--device", "cpu", "--no-validate",
                      "--seed", "0", "--no-data-check", cwd=tmp_path)  # so the worker meets the file
    message = assert_clean_failure(proc, str(tmp_path / "images" / "c.png"), "cannot be decoded")
    assert "img_prefix" not in message and "Original Traceback" not in message
    assert not list(work.glob("*.pth"))


_BROKEN = """
from segdet.registry.local import register
from segdet.testing.toy_detection import ToyDetector


@register("detectors", force=True)
class BrokenDetector(ToyDetector):
    def forward_train(self, *args, **kwargs):
        raise ZeroDivisionError("broken on purpose")
"""


@pytest.mark.parametrize("how", ["flag", "env"])
def test_fault_unexpected_error_short_unless_debug(tmp_path, toy_config, how):
    """An error segdet does not expect (here from a model's forward) is one short line; the
    traceback appears only with --debug or SEGDET_DEBUG=1."""
    (tmp_path / "broken_model.py").write_text(_BROKEN)
    cfg = toy_config("custom_imports = dict(imports=['segdet.testing.toy_detection', 'broken_model'])\n"
                     "model = dict(type='BrokenDetector', num_classes=3, width=8)\n")
    env = {"PYTHONPATH": str(tmp_path)}
    args = ("train", str(cfg), "--work-dir", str(tmp_path / "work"), "--device", "cpu", "--no-validate")
    plain = run_segdet(*args, cwd=tmp_path, env=env)
    message = assert_clean_failure(plain, "unexpected ZeroDivisionError: broken on purpose", "--debug")
    assert len(message.strip().splitlines()) == 2, message
    if how == "flag":
        debug = run_segdet("--debug", *args, cwd=tmp_path, env=env)
    else:
        debug = run_segdet(*args, cwd=tmp_path, env={**env, "SEGDET_DEBUG": "1"})
    assert debug.returncode != 0
    assert "Traceback (most recent call last)" in debug.stderr and "forward_train" in debug.stderr


def test_fault_entry_without_width_names_the_file(tmp_path):
    """An image entry without 'width' (the data set reads it while filtering) names the file."""
    cfg, work, train = _setup(tmp_path, workers=0)
    data = json.loads(train.read_text())
    del data["images"][0]["width"]
    train.write_text(json.dumps(data))
    proc = run_segdet("train", str(cfg), "--work-dir", str(work), "--device", "cpu", cwd=tmp_path)
    assert_clean_failure(proc, "data.train", str(train), "an entry has no key 'width'")
    debug = run_segdet("train", str(cfg), "--work-dir", str(work), "--device", "cpu", cwd=tmp_path,
                       env={"SEGDET_DEBUG": "1"})
    assert "Traceback (most recent call last)" in debug.stderr and "KeyError" in debug.stderr


def test_fault_missing_image_in_worker_during_test(tmp_path):
    """``segdet test`` passes a worker's error through its own message: still no worker traceback."""
    import torch

    from segdet.engine.checkpoint import save_checkpoint
    from segdet.testing.toy_detection import ToyDetector

    cfg, work, _ = _setup(tmp_path)
    ckpt = tmp_path / "toy.pth"
    torch.manual_seed(0)
    save_checkpoint(ToyDetector(num_classes=1, width=8), str(ckpt), meta={"CLASSES": ("cat",)})
    (tmp_path / "images" / "a.png").unlink()
    proc = run_segdet("test", str(cfg), str(ckpt), "--eval", "bbox", "--device", "cpu",
                      "--cfg-options", "model.num_classes=1", cwd=tmp_path)
    message = assert_clean_failure(proc, str(tmp_path / "images" / "a.png"), "does not exist", "DataLoader worker")
    assert "Original Traceback" not in message and 'File "' not in message
    assert message.count("DataFileNotFoundError") == 1


def test_fault_truncated_annotation_json_names_the_file(tmp_path):
    cfg, work, train = _setup(tmp_path, workers=0)
    train.write_text(train.read_text()[:60])
    proc = run_segdet("train", str(cfg), "--work-dir", str(work), "--device", "cpu", cwd=tmp_path)
    assert_clean_failure(proc, "data.train", str(train), "JSONDecodeError")
