"""An empty training or validation set is an error before training, naming the file and the filter."""
from __future__ import annotations

from fault_helpers import (
    assert_clean_failure,
    coco_config,
    run_segdet,
    snapshot,
    write_coco,
    write_images,
)


def test_fault_train_set_emptied_by_classes_filter(tmp_path):
    files = ["a.png", "b.png"]
    write_images(tmp_path / "images", files)
    train = write_coco(tmp_path / "ann", "train.json", files, labelled=("cat",))
    val = write_coco(tmp_path / "ann", "val.json", files, labelled=("cat",))
    cfg = coco_config(tmp_path, train, val, tmp_path / "images", classes=("dog",))
    work = tmp_path / "work"
    work.mkdir()
    (work / "keep.txt").write_text("x")
    before = snapshot(work)
    proc = run_segdet("train", str(cfg), "--work-dir", str(work), "--device", "cpu", cwd=tmp_path)
    message = assert_clean_failure(proc, "data.train is empty", str(train), "filter_empty_gt=True", "'dog'")
    assert "2 images" in message
    assert snapshot(work) == before  # nothing written, no checkpoint of an untrained model


def test_fault_val_set_empty_file(tmp_path):
    files = ["a.png", "b.png"]
    write_images(tmp_path / "images", files)
    train = write_coco(tmp_path / "ann", "train.json", files)
    val = write_coco(tmp_path / "ann", "val.json", [])
    cfg = coco_config(tmp_path, train, val, tmp_path / "images")
    work = tmp_path / "work"
    proc = run_segdet("train", str(cfg), "--work-dir", str(work), "--device", "cpu", cwd=tmp_path)
    assert_clean_failure(proc, "data.val is empty", str(val), "lists no image")
    assert not list(work.glob("*.pth"))


def test_fault_missing_folder_hint_only_for_the_data_it_names(tmp_path):
    """A config reading data/shapes whose *image folder elsewhere* is missing gets no 'make the shapes
    data' hint: the message names the missing folder only."""
    files = ["a.png", "b.png"]
    train = write_coco(tmp_path / "shapes" / "annotations", "train.json", files)
    val = write_coco(tmp_path / "shapes" / "annotations", "val.json", files)
    cfg = coco_config(tmp_path, train, val, tmp_path / "elsewhere" / "images")
    proc = run_segdet("train", str(cfg), "--work-dir", str(tmp_path / "work"), "--device", "cpu", cwd=tmp_path)
    message = assert_clean_failure(proc, str(tmp_path / "elsewhere" / "images"), "img_prefix", "does not exist")
    assert "segdet data shapes" not in message
