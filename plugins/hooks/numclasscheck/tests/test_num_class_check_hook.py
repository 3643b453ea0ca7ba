"""NumClassCheckHook stops a run whose heads disagree with the data set's classes."""
from __future__ import annotations

import pytest
import torch
from segdet_hook_numclasscheck import NumClassCheckHook
from torch import nn

from segdet.api import ConfigError
from segdet.testing import toy_runner


class _Head(nn.Module):
    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.fc = nn.Linear(2, num_classes)


class RPNHead(nn.Module):  # class-agnostic: exempt
    num_classes = 1


class _Model(nn.Module):
    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.bbox_head = _Head(num_classes)
        self.rpn_head = RPNHead()

    def train_step(self, data, optimizer=None):
        loss = self.bbox_head.fc(data).sum() * 0
        return dict(loss=loss, log_vars={"loss": 0.0}, num_samples=1)

    val_step = train_step


class ShapesDataset(list):
    CLASSES = ("circle", "square", "triangle")


def _run(num_classes, dataset, workflow=(("train", 1),)):
    runner = toy_runner(_Model(num_classes))
    runner.register_hook(NumClassCheckHook())
    loader = torch.utils.data.DataLoader(dataset, batch_size=None)
    runner.run([loader] * len(workflow), list(workflow))


def test_matching_classes_pass():
    _run(3, ShapesDataset([torch.zeros(2)]))


def test_mismatch_names_both_numbers_head_and_dataset():
    with pytest.raises(ConfigError) as info:
        _run(2, ShapesDataset([torch.zeros(2)]))
    msg = str(info.value)
    assert "num_classes=2" in msg and "3 CLASSES" in msg
    assert "ShapesDataset" in msg and "_Head" in msg and "model.bbox_head" in msg


def test_checked_before_val_epoch():
    class ValSet(ShapesDataset):
        CLASSES = ("a", "b")

    runner = toy_runner(_Model(3))
    runner.register_hook(NumClassCheckHook())
    loaders = [torch.utils.data.DataLoader(ShapesDataset([torch.zeros(2)]), batch_size=None),
               torch.utils.data.DataLoader(ValSet([torch.zeros(2)]), batch_size=None)]
    with pytest.raises(ConfigError, match="ValSet has 2 CLASSES"):
        runner.run(loaders, [("train", 1), ("val", 1)])


def test_string_classes_rejected():
    class OneClass(list):
        CLASSES = "circle"

    with pytest.raises(ConfigError, match="tuple of names"):
        _run(1, OneClass([torch.zeros(2)]))
