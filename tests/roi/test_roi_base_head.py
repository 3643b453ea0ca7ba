"""BaseRoIHead: what it builds from its config, the channels it fills, and RoI sampling."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from segdet.api import BaseRoIHead, ConfigError, ShapeMismatchError


class ToyHead(nn.Module):
    """A head that records its input channels."""

    def __init__(self, in_channels: int, num_classes: int = 3) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.fc = nn.Linear(in_channels, num_classes)
        self.inits = 0

    def init_weights(self) -> None:
        self.inits += 1


def _extractor(size: int = 7, channels: int = 8) -> dict:
    return {"type": "SingleRoIExtractor", "roi_layer": {"type": "RoIAlign", "output_size": size},
            "out_channels": channels, "featmap_strides": [4, 8]}


TRAIN = {"assigner": {"type": "MaxIoUAssigner", "pos_iou_thr": 0.5, "neg_iou_thr": 0.5, "min_pos_iou": 0.5,
                      "match_low_quality": False},
         "sampler": {"type": "RandomSampler", "num": 8, "pos_fraction": 0.5, "add_gt_as_proposals": True}}


def test_builds_heads_with_in_channels_from_the_extractor_and_shares_it():
    head = BaseRoIHead(bbox_roi_extractor=_extractor(), bbox_head={"type": ToyHead},
                       mask_head={"type": ToyHead, "num_classes": 2})
    assert head.with_bbox and head.with_mask and not head.with_shared_head
    assert head.bbox_head.in_channels == 8 and head.mask_head.in_channels == 8
    assert head.share_roi_extractor and head.mask_roi_extractor is head.bbox_roi_extractor
    assert head.bbox_assigner is None and head.bbox_sampler is None
    head.init_weights()
    assert head.bbox_head.inits == 1 and head.mask_head.inits == 1
    # A separate mask extractor of other width feeds the mask head.
    head = BaseRoIHead(bbox_roi_extractor=_extractor(), bbox_head={"type": ToyHead},
                       mask_roi_extractor=_extractor(14, 16), mask_head={"type": ToyHead})
    assert not head.share_roi_extractor and head.mask_head.in_channels == 16
    assert not BaseRoIHead(bbox_roi_extractor=_extractor(), bbox_head={"type": ToyHead}).with_mask


def test_in_channels_disagreeing_with_the_extractor_is_an_error():
    with pytest.raises(ShapeMismatchError, match="in_channels"):
        BaseRoIHead(bbox_roi_extractor=_extractor(), bbox_head={"type": ToyHead, "in_channels": 4})
    with pytest.raises(ConfigError, match="bbox_roi_extractor is missing"):
        BaseRoIHead(bbox_head={"type": ToyHead})


def test_assign_and_sample_detaches_proposals_and_adds_ground_truth():
    head = BaseRoIHead(bbox_roi_extractor=_extractor(), bbox_head={"type": ToyHead}, train_cfg=TRAIN)
    props = torch.tensor([[0.0, 0.0, 10.0, 10.0, 0.9], [40.0, 40.0, 60.0, 60.0, 0.5],
                          [1.0, 1.0, 11.0, 11.0, 0.3]], requires_grad=True)
    gt = torch.tensor([[0.0, 0.0, 10.0, 10.0]])
    res = head.assign_and_sample([props], [gt], [torch.tensor([2])])[0]
    assert not res.bboxes.requires_grad
    assert res.num_pos == 3 and res.num_neg == 1  # gt itself + 2 overlapping proposals; 1 background
    assert res.pos_is_gt.tolist().count(True) == 1
    assert res.pos_gt_labels.tolist() == [2, 2, 2]
    torch.testing.assert_close(res.bboxes[:res.num_pos].sort(0).values,
                               torch.tensor([[0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 10.0],
                                             [1.0, 1.0, 11.0, 11.0]]).sort(0).values)
    with pytest.raises(ConfigError, match="train_cfg.rcnn"):
        BaseRoIHead(bbox_roi_extractor=_extractor(), bbox_head={"type": ToyHead}).assign_and_sample(
            [props], [gt], [torch.tensor([2])])
