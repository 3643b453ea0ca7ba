"""CornerHead at tiny width: outputs, targets, losses, gradients, decoding and test-time augmentation."""
from __future__ import annotations

from typing import Any

import pytest
import torch
from segdet_head_corner.corner_head import CornerHead
from segdet_head_corner.heatmap_utils import gaussian_radius

from segdet import build_model
from segdet.api import build

_TEST_CFG = {"corner_topk": 10, "local_maximum_kernel": 3, "distance_threshold": 0.5, "score_thr": 0.05,
             "max_per_img": 20, "nms": {"type": "soft_nms", "iou_threshold": 0.5, "method": "gaussian"}}


def _head(levels: int = 2, emb: int = 1) -> CornerHead:
    torch.manual_seed(0)
    head = build({"type": "CornerHead", "num_classes": 3, "in_channels": 8, "num_feat_levels": levels,
                  "corner_emb_channels": emb, "feat_channels": 8, "pool_feat_channels": 4,
                  "test_cfg": _TEST_CFG}, "heads")
    assert isinstance(head, CornerHead)
    return head


def _metas(n: int = 2, size: int = 64, **extra: Any) -> list[dict[str, Any]]:
    return [{"img_shape": (size, size, 3), "pad_shape": (size, size, 3), "batch_input_shape": (size, size),
             "ori_shape": (size, size, 3), "scale_factor": 1.0, "flip": False, **extra} for _ in range(n)]


def test_forward_shapes_and_names() -> None:
    head = _head()
    feats = [torch.randn(2, 8, 16, 16) for _ in range(2)]
    outs = head(feats)
    assert len(outs) == 6 and all(len(o) == 2 for o in outs)
    assert outs[0][0].shape == (2, 3, 16, 16) and outs[1][1].shape == (2, 3, 16, 16)
    assert outs[2][0].shape == (2, 1, 16, 16) and outs[5][1].shape == (2, 2, 16, 16)
    tops = {k.split(".")[0] for k in head.state_dict()}
    assert tops == {"tl_pool", "br_pool", "tl_heat", "br_heat", "tl_emb", "br_emb", "tl_off", "br_off"}
    # heatmaps start at probability 0.1 (upstream's bias init)
    assert torch.allclose(head.tl_heat[0][-1].conv.bias, torch.full((3,), -2.1972246), atol=1e-5)
    no_emb = _head(levels=1, emb=0)
    assert no_emb(feats[:1])[2] == [None] and not hasattr(no_emb, "tl_emb") and no_emb.loss_embedding is None
    with pytest.raises(ValueError, match="num_feat_levels=1 but got 2"):
        no_emb(feats)


def test_targets_put_gaussian_peaks_offsets_and_matches_at_the_corners() -> None:
    head = _head()
    box = torch.tensor([[6.0, 10.0, 41.0, 30.0]])  # in a 64-px input, maps 16x16 (stride 4)
    t = head.get_targets([box], [torch.tensor([2])], (1, 3, 16, 16), (64, 64))
    tl, br = t["topleft_heatmap"], t["bottomright_heatmap"]
    assert tl[0, 2, 2, 1] == 1.0 and br[0, 2, 7, 10] == 1.0   # (y, x) = (10/4, 6/4) and (30/4, 41/4)
    assert tl[0, :2].sum() == 0 and tl.eq(1).sum() == 1 and br.eq(1).sum() == 1
    radius = int(gaussian_radius((5, 9), 0.3))   # ceil(7.5 - 2.5), ceil(10.25 - 1.5)
    assert radius >= 1 and 0 < tl[0, 2, 2, 1 + radius] < 1 and tl[0, 2, 2, 2 + radius] == 0
    torch.testing.assert_close(t["topleft_offset"][0, :, 2, 1], torch.tensor([0.5, 0.5]))
    torch.testing.assert_close(t["bottomright_offset"][0, :, 7, 10], torch.tensor([0.25, 0.5]))
    assert t["corner_embedding"] == [[[[2, 1], [7, 10]]]]


def test_gaussian_radius_keeps_the_iou() -> None:
    """Both corners moved inward by r (case 2) give IoU >= 0.3 at the returned radius."""
    h, w = 20.0, 30.0
    r = gaussian_radius((h, w), 0.3)
    inner = (h - 2 * r) * (w - 2 * r)
    assert inner / (h * w) >= 0.3 - 1e-6
    outer = (h + 2 * r) * (w + 2 * r)
    assert (h * w) / outer >= 0.3 - 1e-6


def test_losses_finite_with_gradients_and_with_empty_ground_truth() -> None:
    head = _head()
    feats = [torch.randn(2, 8, 16, 16, requires_grad=True) for _ in range(2)]
    gt_bboxes = [torch.tensor([[6.0, 10.0, 41.0, 30.0], [30.0, 30.0, 60.0, 62.0]]), torch.zeros(0, 4)]
    gt_labels = [torch.tensor([2, 0]), torch.zeros(0, dtype=torch.long)]
    losses = head.forward_train(feats, _metas(), gt_bboxes, gt_labels)
    assert set(losses) == {"det_loss", "off_loss", "pull_loss", "push_loss"}
    assert all(len(v) == 2 and all(torch.isfinite(x) for x in v) for v in losses.values())
    assert losses["det_loss"][0] > 0 and losses["off_loss"][0] > 0 and losses["push_loss"][0] > 0
    sum(sum(v) for v in losses.values()).backward()
    assert all(f.grad is not None and f.grad.abs().sum() > 0 for f in feats)
    assert head.tl_emb[1][-1].conv.weight.grad.abs().sum() > 0
    assert head.br_off[0][-1].conv.weight.grad.abs().sum() > 0

    empty = head.forward_train([f.detach() for f in feats], _metas(),
                               [torch.zeros(0, 4)] * 2, [torch.zeros(0, dtype=torch.long)] * 2)
    assert all(torch.isfinite(x) for v in empty.values() for x in v)
    assert all(float(x.detach()) == 0.0 for k in ("off_loss", "pull_loss", "push_loss") for x in empty[k])
    assert float(empty["det_loss"][0]) > 0   # every heatmap pixel is a negative


def _synthetic_outputs(head: CornerHead) -> tuple[list[Any], ...]:
    """Logits with one object of class 1: top-left corner at (y, x) = (2, 3), bottom-right at (9, 12),
    offsets 0.5, equal embeddings; a distractor bottom-right corner of class 1 with a far embedding."""
    tl_heat = torch.full((1, 3, 16, 16), -10.0)
    br_heat = torch.full((1, 3, 16, 16), -10.0)
    tl_heat[0, 1, 2, 3] = 5.0
    br_heat[0, 1, 9, 12] = 4.0
    br_heat[0, 1, 14, 14] = 6.0       # stronger, but its embedding does not match
    tl_emb = torch.zeros(1, 1, 16, 16)
    br_emb = torch.zeros(1, 1, 16, 16)
    br_emb[0, 0, 14, 14] = 3.0
    tl_off = torch.full((1, 2, 16, 16), 0.5)
    br_off = torch.full((1, 2, 16, 16), 0.5)
    return [tl_heat], [br_heat], [tl_emb], [br_emb], [tl_off], [br_off]


def test_decoding_picks_the_matching_corners() -> None:
    head = _head(levels=1)
    result = head.get_bboxes(*_synthetic_outputs(head), img_metas=_metas(1), rescale=False)[0]
    assert result["labels"][0] == 1
    # (x + 0.5) * 4, (y + 0.5) * 4 in the 64-px input
    torch.testing.assert_close(result["bboxes"][0], torch.tensor([14.0, 10.0, 50.0, 38.0]))
    expected = (torch.sigmoid(torch.tensor(5.0)) + torch.sigmoid(torch.tensor(4.0))) / 2
    torch.testing.assert_close(result["scores"][0], expected)
    far = [b.tolist() for b in result["bboxes"]]
    assert [14.0, 10.0, 58.0, 58.0] not in far    # the distractor's embedding is 3 away

    # rescale divides by scale_factor; a border (test-time center pad) is subtracted first
    meta = _metas(1, scale_factor=2.0, border=[4, 60, 2, 62])[0]
    moved = head.get_bboxes(*_synthetic_outputs(head), img_metas=[meta], rescale=True)[0]
    torch.testing.assert_close(moved["bboxes"][0], torch.tensor([12.0, 6.0, 48.0, 34.0]) / 2)


def test_decoding_of_nothing_is_empty() -> None:
    head = _head(levels=1)
    outs = list(_synthetic_outputs(head))
    outs[0] = [torch.full((1, 3, 16, 16), -10.0)]
    outs[1] = [torch.full((1, 3, 16, 16), -10.0)]
    # every pair scores sigmoid(-10) ~ 5e-5, below score_thr (0.05)
    result = head.get_bboxes(*outs, img_metas=_metas(1))[0]
    assert result["bboxes"].shape == (0, 4) and result["labels"].dtype == torch.long
    # a strong top-left corner pairs with weak bottom-right ones of its class (as upstream):
    # such pairs score about half the strong corner's probability
    outs[0][0][0, 1, 2, 3] = 5.0
    outs[1][0][0, 1, 12, 12] = -5.0
    result = head.get_bboxes(*outs, img_metas=_metas(1))[0]
    assert len(result["scores"]) > 0 and (result["scores"] < 0.51).all() and (result["labels"] == 1).all()
    torch.testing.assert_close(result["bboxes"][0], torch.tensor([14.0, 10.0, 50.0, 50.0]))


def test_cornernet_detector_trains_tests_and_flip_augments() -> None:
    torch.manual_seed(0)
    model = build_model({
        "type": "CornerNet",
        "backbone": {"type": "HourglassNet", "downsample_times": 2, "num_stacks": 2, "stage_channels": [8, 8, 16],
                     "stage_blocks": [1, 1, 1], "feat_channel": 8},
        "bbox_head": {"type": "CornerHead", "num_classes": 3, "num_feat_levels": 2, "feat_channels": 8,
                      "pool_feat_channels": 4},
        "test_cfg": _TEST_CFG})
    assert model.bbox_head.in_channels == 8   # filled from the backbone
    img = torch.randn(2, 3, 64, 64)
    losses = model.forward_train(img, _metas(), [torch.tensor([[4.0, 6.0, 30.0, 40.0]])] * 2,
                                 [torch.tensor([1])] * 2)
    total = sum(sum(v) for v in losses.values())
    total.backward()
    assert torch.isfinite(total) and model.backbone.stem[0].conv.weight.grad.abs().sum() > 0
    model.eval()
    with torch.no_grad():
        plain = model.simple_test(img, _metas())
        flipped = _metas(flip=True, flip_direction="horizontal")
        aug = model.aug_test([img, img.flip(3)], [_metas(), flipped])
    assert len(plain) == 2 and len(aug) == 2
    assert aug[0]["bboxes"].shape[1] == 4 and aug[0]["bboxes"].shape[0] <= 20
    assert (aug[0]["bboxes"][:, 2] <= 64).all() and (aug[0]["bboxes"][:, 0] >= 0).all()
