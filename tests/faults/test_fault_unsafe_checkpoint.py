"""A pickle with a ``__reduce__`` payload is refused at every entry point that reads a checkpoint:
``--load-from``, ``--resume-from``, ``--auto-resume``, ``segdet test``, ``init_cfg`` Pretrained and
``segdet convert``. Each case runs the real command and checks the exit status, that the message
names the file, that no traceback is printed, that the payload did not run and that the files
already in the work dir are untouched."""
from __future__ import annotations

from pathlib import Path

import pytest
from fault_helpers import assert_clean_failure, make_evil_checkpoint, run_segdet, snapshot


def _work_dir_with_files(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    work = tmp_path / "work"
    work.mkdir()
    (work / "notes.txt").write_text("results of an earlier run\n")
    (work / "epoch_0_weights.bin").write_bytes(bytes(range(256)))
    return work, snapshot(work)


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy-pickle"])
def test_fault_load_from_refuses_pickle_payload(tmp_path, toy_config, legacy):
    marker = tmp_path / "PAYLOAD_RAN"
    evil = make_evil_checkpoint(tmp_path / "evil.pth", marker, legacy=legacy)
    work, before = _work_dir_with_files(tmp_path)
    proc = run_segdet("train", str(toy_config()), "--work-dir", str(work), "--load-from", str(evil),
                      "--device", "cpu", cwd=tmp_path)
    message = assert_clean_failure(proc, str(evil), "refused", "posix.system")
    assert "UnsafeCheckpointError" in message
    assert not marker.exists()
    after = snapshot(work)
    assert {k: after[k] for k in before} == before
    assert not any(name.endswith(".pth") for name in after)  # no checkpoint of an untrained model


def test_fault_resume_from_refuses_pickle_payload(tmp_path, toy_config):
    marker = tmp_path / "PAYLOAD_RAN"
    evil = make_evil_checkpoint(tmp_path / "evil.pth", marker)
    work, before = _work_dir_with_files(tmp_path)
    proc = run_segdet("train", str(toy_config()), "--work-dir", str(work), "--resume-from", str(evil),
                      "--device", "cpu", cwd=tmp_path)
    assert_clean_failure(proc, str(evil), "refused")
    assert not marker.exists()
    after = snapshot(work)
    assert {k: after[k] for k in before} == before
    assert not any(name.endswith(".pth") for name in after)


def test_fault_auto_resume_refuses_planted_latest(tmp_path, toy_config):
    """A planted latest.pth is not passed over quietly: someone put code in the work dir."""
    marker = tmp_path / "PAYLOAD_RAN"
    work, _ = _work_dir_with_files(tmp_path)
    evil = make_evil_checkpoint(work / "latest.pth", marker)
    before = snapshot(work)
    proc = run_segdet("train", str(toy_config()), "--work-dir", str(work), "--auto-resume",
                      "--device", "cpu", cwd=tmp_path)
    message = assert_clean_failure(proc, str(evil), "auto-resume", "Remove")
    assert "refused" in message
    assert not marker.exists()
    after = snapshot(work)
    assert {k: after[k] for k in before} == before
    assert not any(name.startswith("epoch_") and name.endswith(".pth") for name in after)


def test_fault_test_command_refuses_pickle_payload(tmp_path, toy_config):
    marker = tmp_path / "PAYLOAD_RAN"
    evil = make_evil_checkpoint(tmp_path / "evil.pth", marker)
    work, before = _work_dir_with_files(tmp_path)
    out = work / "results.pkl"
    proc = run_segdet("test", str(toy_config()), str(evil), "--out", str(out), "--eval", "bbox",
                      "--work-dir", str(work), "--device", "cpu", cwd=tmp_path)
    assert_clean_failure(proc, str(evil), "refused")
    assert not marker.exists()
    assert not out.exists()
    assert snapshot(work) == before


_RETINA_INIT_CFG = """
    model = dict(
        _delete_=True,
        type='RetinaNet',
        backbone=dict(type='ResNet', depth=18, base_channels=8, out_indices=(1, 2, 3),
                      init_cfg=dict(type='Pretrained', checkpoint='{ckpt}')),
        neck=dict(type='FPN', out_channels=8, num_outs=3),
        bbox_head=dict(type='RetinaHead', num_classes=3, stacked_convs=1, feat_channels=8,
                       anchor_generator=dict(type='AnchorGenerator', octave_base_scale=4, scales_per_octave=1,
                                             ratios=[1.0], strides=[8, 16, 32]),
                       bbox_coder=dict(type='DeltaXYWHBBoxCoder'),
                       loss_cls=dict(type='FocalLoss', use_sigmoid=True),
                       loss_bbox=dict(type='L1Loss')))
"""


def test_fault_init_cfg_pretrained_refuses_pickle_payload(tmp_path, toy_config):
    marker = tmp_path / "PAYLOAD_RAN"
    evil = make_evil_checkpoint(tmp_path / "evil_backbone.pth", marker)
    cfg = toy_config(_RETINA_INIT_CFG.replace("{ckpt}", str(evil)))
    work, before = _work_dir_with_files(tmp_path)
    proc = run_segdet("train", str(cfg), "--work-dir", str(work), "--device", "cpu", cwd=tmp_path)
    assert_clean_failure(proc, str(evil), "refused")
    assert not marker.exists()
    after = snapshot(work)
    assert {k: after[k] for k in before} == before
    assert not any(name.endswith(".pth") for name in after)


def test_fault_convert_refuses_pickle_payload(tmp_path):
    marker = tmp_path / "PAYLOAD_RAN"
    evil = make_evil_checkpoint(tmp_path / "evil_torchvision.pth", marker)
    out_dir, before = _work_dir_with_files(tmp_path)
    dst = out_dir / "converted.pth"
    proc = run_segdet("convert", "torchvision-resnet", str(evil), str(dst), cwd=tmp_path)
    assert_clean_failure(proc, str(evil), "refused")
    assert not marker.exists()
    assert not dst.exists()
    assert snapshot(out_dir) == before
