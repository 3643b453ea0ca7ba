"""``segdet check-data`` and the check ``segdet train`` runs first: missing / corrupt images, boxes
without area or outside the image, unknown categories, listed with where; ``bad_samples='skip'``."""
from __future__ import annotations

import json

from fault_helpers import (
    assert_clean_failure,
    coco_config,
    run_segdet,
    snapshot,
    write_coco,
    write_images,
)

FILES = ["a.png", "b.png", "c.png", "d.png", "e.png", "f.png"]


def _bad_data(tmp_path):
    write_images(tmp_path / "images", FILES)
    train = write_coco(tmp_path / "ann", "train.json", FILES)
    val = write_coco(tmp_path / "ann", "val.json", FILES)
    (tmp_path / "images" / "b.png").unlink()  # missing
    (tmp_path / "images" / "c.png").write_bytes(b"not a png")  # corrupt
    data = json.loads(train.read_text())
    data["annotations"][3]["bbox"] = [5, 5, 0, 10]  # d.png: no width
    data["annotations"][4]["bbox"] = [30, 30, 20, 20]  # e.png: outside the 40x40 image
    data["annotations"][5]["category_id"] = 7  # f.png: unknown category
    train.write_text(json.dumps(data))
    return coco_config(tmp_path, train, val, tmp_path / "images"), train


def test_fault_check_data_lists_every_bad_sample(tmp_path):
    cfg, _ = _bad_data(tmp_path)
    proc = run_segdet("check-data", str(cfg), "--split", "train", cwd=tmp_path)
    images = tmp_path / "images"
    message = assert_clean_failure(proc, "data.train: 5 problems in 5 samples",
                                   f"{images / 'b.png'}: image file does not exist",
                                   f"{images / 'c.png'}: image file cannot be decoded",
                                   "bbox [5, 5, 0, 10] has no area",
                                   "bbox [30, 30, 20, 20] lies outside the 40x40 image",
                                   "category_id 7 is not a category of the file")
    assert "#0 " not in message  # a.png is fine
    ok = run_segdet("check-data", str(cfg), "--split", "val", cwd=tmp_path)
    assert ok.returncode != 0 and "b.png" in ok.stderr  # val lists the same images


def test_fault_train_stops_before_training_on_bad_samples(tmp_path):
    cfg, _ = _bad_data(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    (work / "keep.txt").write_text("x")
    before = snapshot(work)
    proc = run_segdet("train", str(cfg), "--work-dir", str(work), "--device", "cpu", "--no-validate", cwd=tmp_path)
    assert_clean_failure(proc, "5 problems in 5 samples", "b.png", "bad_samples='skip'")
    assert snapshot(work) == before


def test_fault_train_skips_bad_samples_when_told(tmp_path):
    cfg, _ = _bad_data(tmp_path)
    work = tmp_path / "work"
    proc = run_segdet("train", str(cfg), "--work-dir", str(work), "--device", "cpu", "--no-validate",
                      "--seed", "0", "--cfg-options", "runner.max_epochs=1", "data.train.bad_samples=skip",
                      cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "bad_samples='skip': 4 samples left out of data.train" in proc.stdout  # f.png was never in it
    assert (work / "epoch_1.pth").exists()


def test_fault_bad_samples_policy_checked_by_check_config(tmp_path):
    cfg, _ = _bad_data(tmp_path)
    ok = run_segdet("check-config", str(cfg), "--cfg-options", "data.train.bad_samples=skip", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    bad = run_segdet("check-config", str(cfg), "--cfg-options", "data.train.bad_samples=skp", cwd=tmp_path)
    assert_clean_failure(bad, "data.train.bad_samples='skp'", "'error', 'skip'")
