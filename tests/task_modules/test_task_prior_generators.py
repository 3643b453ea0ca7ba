"""AnchorGenerator and MlvlPointGenerator against hand-computed priors."""
from __future__ import annotations

import math

import pytest
import torch

from segdet.models.task_modules import AnchorGenerator, MlvlPointGenerator
from segdet.registry import build


def test_base_anchors_by_hand():
    gen = AnchorGenerator(strides=[8], ratios=[0.5, 1.0, 2.0], scales=[2])
    # ratio r: w = 8 * 2 / sqrt(r), h = 8 * 2 * sqrt(r), centred at 0.
    w, h = 16 / math.sqrt(0.5), 16 * math.sqrt(0.5)
    expected = torch.tensor(
        [[-w / 2, -h / 2, w / 2, h / 2], [-8.0, -8.0, 8.0, 8.0], [-h / 2, -w / 2, h / 2, w / 2]]
    )
    assert torch.allclose(gen.base_anchors[0], expected)
    assert gen.num_levels == 1 and gen.num_base_priors == [3]


def test_grid_priors_order_one_level():
    gen = AnchorGenerator(strides=[8], ratios=[0.5, 1.0, 2.0], scales=[2])
    (anchors,) = gen.grid_priors([(2, 3)])
    assert anchors.shape == (2 * 3 * 3, 4)
    # location 4 is row 1, column 1 -> shift (8, 8); anchor 1 of it is the square one
    assert anchors[4 * 3 + 1].tolist() == [0.0, 0.0, 16.0, 16.0]
    # location 2 is row 0, column 2 -> shift (16, 0)
    assert anchors[2 * 3 + 1].tolist() == [8.0, -8.0, 24.0, 8.0]
    assert torch.allclose(anchors[:3], gen.base_anchors[0])


def test_octave_scales_scale_major_and_offset():
    gen = AnchorGenerator(strides=[8, 16], ratios=[1.0, 2.0], octave_base_scale=4, scales_per_octave=2)
    assert gen.num_base_priors == [4, 4]
    # scale-major: the scales of ratio 1 come first: 4 and 4 * sqrt(2)
    widths = (gen.base_anchors[0][:, 2] - gen.base_anchors[0][:, 0]).tolist()
    s = 4 * math.sqrt(2)
    assert widths == pytest.approx([32, 8 * s, 32 / math.sqrt(2), 8 * s / math.sqrt(2)])
    ratio_major = AnchorGenerator(strides=[8], ratios=[1.0, 2.0], scales=[4, s], scale_major=False)
    widths = (ratio_major.base_anchors[0][:, 2] - ratio_major.base_anchors[0][:, 0]).tolist()
    assert widths == pytest.approx([32, 32 / math.sqrt(2), 8 * s, 8 * s / math.sqrt(2)])
    offset = AnchorGenerator(strides=[8], ratios=[1.0], scales=[1], center_offset=0.5)
    assert offset.base_anchors[0].tolist() == [[0.0, 0.0, 8.0, 8.0]]
    centred = AnchorGenerator(strides=[8], ratios=[1.0], scales=[1], centers=[(2.0, 3.0)])
    assert centred.base_anchors[0].tolist() == [[-2.0, -1.0, 6.0, 7.0]]


def test_anchor_generator_argument_errors():
    with pytest.raises(ValueError, match="scales"):
        AnchorGenerator(strides=[8], ratios=[1.0])
    with pytest.raises(ValueError, match="scales"):
        AnchorGenerator(strides=[8], ratios=[1.0], scales=[1], octave_base_scale=4, scales_per_octave=3)
    with pytest.raises(ValueError, match="base_sizes"):
        AnchorGenerator(strides=[8, 16], ratios=[1.0], scales=[1], base_sizes=[8])
    with pytest.raises(ValueError, match="levels"):
        AnchorGenerator(strides=[8, 16], ratios=[1.0], scales=[1]).grid_priors([(2, 2)])


def test_valid_flags():
    gen = AnchorGenerator(strides=[8, 16], ratios=[1.0, 2.0], scales=[1])
    flags = gen.valid_flags([(4, 4), (2, 2)], (20, 30, 3))
    # level 0: ceil(20/8) = 3 valid rows, ceil(30/8) = 4 valid columns
    grid = flags[0].view(4, 4, 2)
    assert grid[:3].all() and not grid[3].any()
    assert flags[1].all() and flags[1].shape == (8,)
    flags = gen.valid_flags([(4, 4), (2, 2)], (32, 9))
    assert flags[0].view(4, 4, 2)[:, :2].all() and not flags[0].view(4, 4, 2)[:, 2:].any()


def test_built_from_config_with_dtype():
    gen = build(dict(type="AnchorGenerator", strides=[8, 16, 32], ratios=[0.5, 1.0, 2.0],
                     octave_base_scale=4, scales_per_octave=3), "task_modules")
    priors = gen.grid_priors([(4, 4), (2, 2), (1, 1)], dtype=torch.float64)
    assert [p.shape[0] for p in priors] == [16 * 9, 4 * 9, 9]
    assert priors[0].dtype == torch.float64


def test_point_generator_by_hand():
    gen = MlvlPointGenerator(strides=[8, 16])
    assert gen.num_levels == 2 and gen.num_base_priors == [1, 1]
    p0, p1 = gen.grid_priors([(2, 3), (1, 2)])
    assert p0.tolist() == [[4, 4], [12, 4], [20, 4], [4, 12], [12, 12], [20, 12]]
    assert p1.tolist() == [[8, 8], [24, 8]]
    (with_stride,) = MlvlPointGenerator(strides=[(8, 4)], offset=0.0).grid_priors([(2, 1)], with_stride=True)
    assert with_stride.tolist() == [[0, 0, 8, 4], [0, 4, 8, 4]]
    flags = gen.valid_flags([(2, 3), (1, 2)], (16, 12))
    assert flags[0].tolist() == [True, True, False, True, True, False]
