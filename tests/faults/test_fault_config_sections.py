"""Every config section is checked before training: wrong keys and wrong value types end in one
message per problem naming the key and where it was set; nothing is trained, nothing is written."""
from __future__ import annotations

import pytest
from fault_helpers import assert_clean_failure, run_segdet, snapshot

CASES = [
    # (cfg-option, text the message must contain)
    ("model.num_classes='3'", "model.num_classes"),
    ("data.samples_per_gpu='8'", "data.samples_per_gpu"),
    ("data.sample_per_gpu=2", "did you mean 'samples_per_gpu'"),
    ("optimizer.lr=abc", "optimizer.lr"),
    ("checkpoint_config.max_keep_ckpt=1", "did you mean 'max_keep_ckpts'"),
    ("optimizer_config.grad_clip={'max_nrom': 3}", "did you mean 'max_norm'"),
    ("runner.max_epoch=3", "did you mean 'max_epochs'"),
    ("lr_config.stepp=3", "'stepp'"),
    ("log_config.intervall=5", "did you mean 'interval'"),
    ("evaluation.interval=0", "evaluation.interval"),
    ("evalution.interval=2", "did you mean 'evaluation'"),
    ("workflow=[('trian',1)]", "workflow"),
    ("momentum_config.policy=Cosinee", "momentum_config"),
]


def test_check_config_lists_every_section_problem_at_once(tmp_path, toy_config):
    cfg = toy_config()
    proc = run_segdet("check-config", str(cfg), "--cfg-options", *[c for c, _ in CASES], cwd=tmp_path)
    err = assert_clean_failure(proc, *[text for _, text in CASES])
    assert "--cfg-options data.samples_per_gpu='8'" in err  # where it was set
    count = int(err.rsplit(" problem(s)", 1)[0].rsplit(" ", 1)[-1])
    assert count >= len(CASES)


@pytest.mark.parametrize("option, text", [CASES[1], CASES[4]])
def test_train_stops_before_training_and_keeps_the_work_dir(tmp_path, toy_config, option, text):
    work = tmp_path / "work"
    work.mkdir()
    (work / "keep.txt").write_text("results of an earlier run")
    before = snapshot(work)
    proc = run_segdet("train", str(toy_config()), "--work-dir", str(work), "--cfg-options", option, cwd=tmp_path)
    assert_clean_failure(proc, text)
    assert snapshot(work) == before
    assert not list(work.glob("*.pth"))


def test_a_wrong_type_in_the_config_file_names_file_and_line(tmp_path, toy_config):
    cfg = toy_config("optimizer = dict(type='SGD', lr='0.05', momentum=0.9)\n", name="typed.py")
    proc = run_segdet("check-config", str(cfg), cwd=tmp_path)
    err = assert_clean_failure(proc, "optimizer.lr", "typed.py:")
    assert "expects lr" in err and "'0.05' (str)" in err
