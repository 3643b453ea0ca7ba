"""Segmentation labels the loss cannot take: found before training (ignore_index disagreement) or
named clearly at the first iteration (a value out of range), never torch's bare IndexError."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from fault_helpers import assert_clean_failure, run_segdet

from segdet.errors import DataError
from segdet.registry import build

REPO = Path(__file__).resolve().parents[2]
PSP = str(REPO / "configs/pspnet/pspnet_r18-d8_shapes.py")


def test_check_config_names_both_ignore_indexes(tmp_path):
    proc = run_segdet("check-config", PSP, "--cfg-options", "data.train.ignore_index=11", cwd=tmp_path)
    err = assert_clean_failure(proc, "model.decode_head", "ignore_index=255", "data.train.ignore_index",
                               "ignore_index=11")
    assert "model.auxiliary_head" in err


def test_agreeing_ignore_indexes_pass(tmp_path):
    proc = run_segdet("check-config", PSP, "--cfg-options", "data.train.ignore_index=11",
                      "model.decode_head.ignore_index=11", "model.auxiliary_head.ignore_index=11", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr


def _head(num_classes=3, ignore_index=255):
    return build(dict(type="FCNHead", in_channels=4, channels=4, num_convs=1, num_classes=num_classes,
                      ignore_index=ignore_index), "heads")


def test_label_out_of_range_is_a_clear_error():
    head = _head()
    logits = torch.randn(2, 3, 8, 8)
    labels = torch.randint(0, 3, (2, 1, 8, 8))
    labels[0, 0, 0, 0] = 11
    with pytest.raises(DataError) as exc:
        head.losses(logits, labels)
    msg = str(exc.value)
    assert "label value 11" in msg and "num_classes=3" in msg and "ignore_index=255" in msg
    assert "set ignore_index=11" in msg


def test_ignored_and_valid_labels_pass_and_give_gradients():
    head = _head(ignore_index=11)
    logits = torch.randn(2, 3, 8, 8, requires_grad=True)
    labels = torch.randint(0, 3, (2, 1, 8, 8))
    labels[:, :, :2] = 11
    loss = head.losses(logits, labels)["loss_ce"]
    loss.backward()
    assert torch.isfinite(loss) and logits.grad is not None
    assert float(logits.grad[:, :, :2].abs().sum()) == 0.0  # ignored rows get no gradient
