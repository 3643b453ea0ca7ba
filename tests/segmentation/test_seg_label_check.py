"""The label check before the segmentation loss: a value that is neither a class nor ignore_index
stops with a message naming it (instead of torch's bare IndexError)."""
from __future__ import annotations

import pytest
import torch

from segdet.errors import DataError
from segdet.models.decode_heads.decode_head_base import _check_labels


def test_classes_and_ignored_pixels_pass() -> None:
    label = torch.tensor([[[0, 3], [255, 2]]])
    _check_labels(label, num_classes=4, ignore_index=255)
    _check_labels(torch.full((1, 2, 2), 255), num_classes=4, ignore_index=255)


@pytest.mark.parametrize(("value", "named"), [(4, "4"), (-1, "-1"), (200, "200")])
def test_a_value_outside_the_classes_is_named(value: int, named: str) -> None:
    label = torch.tensor([[[0, 1], [255, value]]])
    with pytest.raises(DataError, match=f"label value {named} in the training data"):
        _check_labels(label, num_classes=4, ignore_index=255)


def test_the_largest_bad_value_is_reported_when_it_is_too_high() -> None:
    label = torch.tensor([[[-3, 9], [7, 0]]])
    with pytest.raises(DataError, match="label value 9 "):
        _check_labels(label, num_classes=4, ignore_index=255)
