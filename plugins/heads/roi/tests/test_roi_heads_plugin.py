"""RoI heads at tiny width: losses, gradients, empty ground truth, border masks, cascade weights, inference."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from segdet.api import build

C = 8
NUM_CLASSES = 3
SIZE = 64
STRIDES = [4, 8, 16, 32]


def _extractor(size: int = 7) -> dict:
    return {"type": "SingleRoIExtractor", "roi_layer": {"type": "RoIAlign", "output_size": size, "sampling_ratio": 0},
            "out_channels": C, "featmap_strides": STRIDES}


def _bbox_head(agnostic: bool = False, stds=(0.1, 0.1, 0.2, 0.2)) -> dict:
    return {"type": "Shared2FCBBoxHead", "in_channels": C, "fc_out_channels": 16, "roi_feat_size": 7,
            "num_classes": NUM_CLASSES, "reg_class_agnostic": agnostic,
            "bbox_coder": {"type": "DeltaXYWHBBoxCoder", "target_means": [0.0] * 4, "target_stds": list(stds)},
            "loss_cls": {"type": "CrossEntropyLoss", "use_sigmoid": False, "loss_weight": 1.0},
            "loss_bbox": {"type": "L1Loss", "loss_weight": 1.0}}


MASK_HEAD = {"type": "FCNMaskHead", "num_convs": 2, "in_channels": C, "conv_out_channels": C,
             "num_classes": NUM_CLASSES, "loss_mask": {"type": "CrossEntropyLoss", "use_mask": True, "loss_weight": 1.0}}


def _train_cfg(pos_iou: float = 0.5) -> dict:
    return {"assigner": {"type": "MaxIoUAssigner", "pos_iou_thr": pos_iou, "neg_iou_thr": pos_iou,
                         "min_pos_iou": pos_iou, "match_low_quality": False, "ignore_iof_thr": -1},
            "sampler": {"type": "RandomSampler", "num": 32, "pos_fraction": 0.25, "neg_pos_ub": -1,
                        "add_gt_as_proposals": True},
            "mask_size": 28, "pos_weight": -1, "debug": False}


TEST_CFG = {"score_thr": 0.0, "nms": {"type": "nms", "iou_threshold": 0.5}, "max_per_img": 20, "mask_thr_binary": 0.5}


def standard(with_mask: bool = True) -> torch.nn.Module:
    torch.manual_seed(0)
    cfg = {"type": "StandardRoIHead", "bbox_roi_extractor": _extractor(), "bbox_head": _bbox_head(),
           "train_cfg": _train_cfg(), "test_cfg": TEST_CFG}
    if with_mask:
        cfg.update(mask_roi_extractor=_extractor(14), mask_head=MASK_HEAD)
    return build(cfg, "heads")


def cascade(with_mask: bool = False, weights=(1.0, 0.5, 0.25)) -> torch.nn.Module:
    torch.manual_seed(0)
    cfg = {"type": "CascadeRoIHead", "num_stages": 3, "stage_loss_weights": list(weights),
           "bbox_roi_extractor": _extractor(),
           "bbox_head": [_bbox_head(True, (0.1, 0.1, 0.2, 0.2)), _bbox_head(True, (0.05, 0.05, 0.1, 0.1)),
                         _bbox_head(True, (0.033, 0.033, 0.067, 0.067))],
           "train_cfg": [_train_cfg(0.5), _train_cfg(0.6), _train_cfg(0.7)], "test_cfg": TEST_CFG}
    if with_mask:
        cfg.update(mask_roi_extractor=_extractor(14), mask_head=MASK_HEAD)
    return build(cfg, "heads")


def feats(batch: int = 2) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(1)
    return [torch.randn(batch, C, SIZE // s, SIZE // s, generator=gen, requires_grad=True) for s in STRIDES]


def metas(batch: int = 2, scale: float = 1.0, flip: bool = False) -> list[dict]:
    ori = (int(round(SIZE / scale)), int(round(SIZE / scale)), 3)
    return [{"img_shape": (SIZE, SIZE, 3), "pad_shape": (SIZE, SIZE, 3), "ori_shape": ori,
             "scale_factor": np.full(4, scale, np.float32), "flip": flip, "flip_direction": "horizontal"}
            for _ in range(batch)]


def gts() -> tuple[list[torch.Tensor], list[torch.Tensor], list[torch.Tensor]]:
    boxes = [torch.tensor([[4.0, 6.0, 30.0, 40.0], [30.0, 20.0, 62.0, 60.0]]), torch.tensor([[10.0, 10.0, 34.0, 30.0]])]
    labels = [torch.tensor([0, 2]), torch.tensor([1])]
    masks = []
    for b in boxes:
        m = torch.zeros((b.shape[0], SIZE, SIZE), dtype=torch.uint8)
        for k, (x1, y1, x2, y2) in enumerate(b.long().tolist()):
            m[k, y1:y2, x1:x2] = 1
        masks.append(m)
    return boxes, labels, masks


def proposals(n: int = 40, batch: int = 2) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(2)
    out = []
    for _ in range(batch):
        xy = torch.rand(n, 2, generator=gen) * 40
        wh = torch.rand(n, 2, generator=gen) * 30 + 4
        out.append(torch.cat([xy, (xy + wh).clamp(max=SIZE), torch.rand(n, 1, generator=gen)], dim=1))
    return out


def test_standard_losses_and_gradients():
    head = standard()
    x = feats()
    b, lb, m = gts()
    losses = head.forward_train(x, metas(), proposals(), b, lb, gt_masks=m)
    assert set(losses) == {"loss_cls", "acc", "loss_bbox", "loss_mask"}
    for k in ("loss_cls", "loss_bbox", "loss_mask"):
        assert torch.isfinite(losses[k]).all() and float(losses[k].detach().sum()) > 0, k
    assert 0.0 <= float(losses["acc"]) <= 100.0
    sum(v.sum() for k, v in losses.items() if "loss" in k).backward()
    for name in ("bbox_head.fc_cls.weight", "bbox_head.fc_reg.weight", "bbox_head.shared_fcs.0.weight",
                 "mask_head.conv_logits.weight", "mask_head.upsample.weight", "mask_head.convs.0.conv.weight"):
        grad = dict(head.named_parameters())[name].grad
        assert grad is not None and grad.abs().sum() > 0, name
    assert x[0].grad is not None and x[0].grad.abs().sum() > 0


def test_empty_ground_truth_gives_zero_box_and_mask_loss():
    head = standard()
    x = feats()
    empty_b = [torch.zeros((0, 4)), torch.zeros((0, 4))]
    empty_l = [torch.zeros((0,), dtype=torch.long)] * 2
    empty_m = [torch.zeros((0, SIZE, SIZE), dtype=torch.uint8)] * 2
    losses = head.forward_train(x, metas(), proposals(), empty_b, empty_l, gt_masks=empty_m)
    assert torch.isfinite(losses["loss_cls"]) and float(losses["loss_cls"].detach()) > 0
    assert float(losses["loss_bbox"].detach()) == 0.0
    assert float(losses["loss_mask"].detach().sum()) == 0.0
    sum(v.sum() for k, v in losses.items() if "loss" in k).backward()
    assert head.bbox_head.fc_cls.weight.grad.abs().sum() > 0


def test_no_proposals_still_trains_on_ground_truth():
    head = standard()
    b, lb, m = gts()
    no_props = [torch.zeros((0, 5)), torch.zeros((0, 5))]
    losses = head.forward_train(feats(), metas(), no_props, b, lb, gt_masks=m)
    # The sampler adds the ground truths as proposals: every RoI is positive and exact.
    assert float(losses["acc"]) >= 0 and torch.isfinite(losses["loss_cls"])
    assert float(losses["loss_mask"].detach().sum()) > 0
    # Nothing at all (no proposals, no ground truth): finite, zero box/mask loss.
    none = [torch.zeros((0, 4))] * 2
    losses = head.forward_train(feats(), metas(), no_props, none, [torch.zeros((0,), dtype=torch.long)] * 2,
                                gt_masks=[torch.zeros((0, SIZE, SIZE), dtype=torch.uint8)] * 2)
    assert float(losses["loss_bbox"].detach()) == 0.0 and float(losses["loss_cls"].detach()) == 0.0


def test_mask_targets_of_masks_touching_the_border():
    head = standard()
    # An object filling the right and bottom border of the image; proposal == its box.
    box = torch.tensor([[40.0, 44.0, 64.0, 64.0]])
    mask = torch.zeros((1, SIZE, SIZE), dtype=torch.uint8)
    mask[0, 44:, 40:] = 1
    res = head.assign_and_sample([box], [box], [torch.tensor([1])])
    targets = head.mask_head.get_targets(res, [mask], {"mask_size": 28})
    assert targets.shape == (2, 28, 28)  # the proposal and the ground truth added as a proposal
    assert bool((targets == 1).all()), "the mask covers its whole box, up to the image border"
    # A box reaching 8 px left of the object: the crop's right 3/4 (up to the border) is set.
    box2 = torch.tensor([[32.0, 44.0, 64.0, 64.0]])
    res = head.assign_and_sample([box2], [box], [torch.tensor([1])])
    t = head.mask_head.get_targets(res, [mask], {"mask_size": 28})
    t2 = t[~res[0].pos_is_gt][0]
    assert bool((t2[:, -1] == 1).all()) and bool((t2[:, 0] == 0).all())
    assert abs(float(t2.mean()) - 0.75) < 0.05


def test_simple_test_boxes_and_masks_at_original_size():
    head = standard().eval()
    with torch.no_grad():
        out = head.simple_test(feats(), proposals(), metas(scale=0.5), rescale=True)
    assert len(out) == 2
    for r in out:
        n = r["bboxes"].shape[0]
        assert 0 < n <= 20
        assert r["scores"].shape == (n,) and r["labels"].dtype == torch.long
        assert r["masks"].shape == (n, 128, 128) and r["masks"].dtype == torch.bool
        assert float(r["bboxes"].max()) <= 128.0
        assert int(r["labels"].max()) < NUM_CLASSES
    # Without rescale, masks are at img_shape.
    with torch.no_grad():
        out = head.simple_test(feats(), proposals(), metas(scale=0.5), rescale=False)
    assert out[0]["masks"].shape[1:] == (SIZE, SIZE)


def test_simple_test_without_proposals_returns_empty():
    head = standard().eval()
    with torch.no_grad():
        out = head.simple_test(feats(), [torch.zeros((0, 5))] * 2, metas())
    assert all(r["bboxes"].shape == (0, 4) and r["masks"].shape == (0, SIZE, SIZE) for r in out)


def test_masks_pasted_inside_their_boxes():
    head = standard().eval()
    with torch.no_grad():
        head.mask_head.conv_logits.bias.fill_(20.0)  # every RoI pixel is foreground
        out = head.simple_test(feats(), proposals(), metas(), rescale=True)
    r = out[0]
    for box, mask in zip(r["bboxes"], r["masks"]):
        x1, y1, x2, y2 = box.tolist()
        ys, xs = torch.nonzero(mask, as_tuple=True)
        assert len(ys) > 0
        assert xs.min() >= int(x1) - 1 and xs.max() <= int(np.ceil(x2)) and ys.max() <= int(np.ceil(y2))
        area = (x2 - x1) * (y2 - y1)
        assert abs(int(mask.sum()) - area) <= 2 * (x2 - x1 + y2 - y1) + 4


def test_aug_test_flip_merges_to_single_view_result():
    """Two views: the image and its mirror. With a mirror-equivariant stand-in for the features
    (feature maps flipped too), merged boxes equal the single-view boxes."""
    head = standard().eval()
    x = feats(batch=1)
    x_flip = [f.flip(-1) for f in x]
    props = proposals(batch=1)
    with torch.no_grad():
        single = head.simple_test(x, props, metas(1), rescale=True)[0]
        merged = head.aug_test([x, x], props, [metas(1), metas(1)], rescale=True)[0]
        flipped = head.aug_test([x, x_flip], props, [metas(1), metas(1, flip=True)], rescale=True)[0]
    torch.testing.assert_close(merged["bboxes"], single["bboxes"])
    assert torch.equal(merged["masks"], single["masks"])
    assert flipped["masks"].shape[1:] == (SIZE, SIZE)
    assert flipped["bboxes"].shape[0] > 0


def test_cascade_stage_loss_weights():
    b, lb, _ = gts()
    torch.manual_seed(3)
    base = cascade(weights=(1.0, 1.0, 1.0))
    torch.manual_seed(3)
    weighted = cascade(weights=(1.0, 0.5, 0.25))
    weighted.load_state_dict(base.state_dict())
    x, props = feats(), proposals()
    torch.manual_seed(5)
    l1 = base.forward_train(x, metas(), props, b, lb)
    torch.manual_seed(5)
    l2 = weighted.forward_train(x, metas(), props, b, lb)
    assert {f"s{i}.{k}" for i in range(3) for k in ("loss_cls", "acc", "loss_bbox")} == set(l1)
    for i, w in enumerate((1.0, 0.5, 0.25)):
        torch.testing.assert_close(l2[f"s{i}.loss_cls"], l1[f"s{i}.loss_cls"] * w)
        torch.testing.assert_close(l2[f"s{i}.loss_bbox"], l1[f"s{i}.loss_bbox"] * w)
        torch.testing.assert_close(l2[f"s{i}.acc"], l1[f"s{i}.acc"])
    sum(v for k, v in l2.items() if "loss" in k).backward()
    for i in range(3):
        assert weighted.bbox_head[i].fc_reg.weight.grad.abs().sum() > 0


def test_cascade_with_masks_trains_and_tests():
    head = cascade(with_mask=True)
    b, lb, m = gts()
    losses = head.forward_train(feats(), metas(), proposals(), b, lb, gt_masks=m)
    assert all(f"s{i}.loss_mask" in losses for i in range(3))
    head.eval()
    with torch.no_grad():
        out = head.simple_test(feats(), proposals(), metas(), rescale=True)
        aug = head.aug_test([feats(1)], proposals(batch=1), [metas(1)], rescale=True)
    assert out[0]["masks"].shape[1:] == (SIZE, SIZE) and out[0]["bboxes"].shape[0] > 0
    assert aug[0]["masks"].shape[0] == aug[0]["bboxes"].shape[0]


def test_cascade_refine_drops_added_ground_truths():
    head = cascade()
    b, lb, _ = gts()
    res = head.assign_and_sample(proposals(10), b, lb, None, head.bbox_assigner[0], head.bbox_sampler[0])
    from segdet.api import bbox2roi
    rois = bbox2roi([r.bboxes for r in res])
    labels = torch.zeros(rois.shape[0], dtype=torch.long)
    refined = head.bbox_head[0].refine_bboxes(rois, labels, torch.zeros(rois.shape[0], 4),
                                              [r.pos_is_gt for r in res], metas())
    for r, out in zip(res, refined):
        assert out.shape == (r.bboxes.shape[0] - int(r.pos_is_gt.sum()), 4)
        # zero deltas: the non-gt RoIs come back unchanged
        torch.testing.assert_close(out, r.bboxes[torch.cat([~r.pos_is_gt, torch.ones(r.num_neg, dtype=torch.bool)])])


def test_class_specific_regression_selects_the_label_column():
    head = build(_bbox_head(), "heads")
    rois = torch.tensor([[0.0, 10.0, 10.0, 30.0, 30.0]])
    pred = torch.zeros(1, 4 * NUM_CLASSES)
    pred[0, 4:8] = torch.tensor([1.0, 0.0, 0.0, 0.0])  # class 1 shifts x by 0.1 * w = 2 px
    out = head.regress_by_class(rois, torch.tensor([1]), pred, {"img_shape": (64, 64, 3)})
    torch.testing.assert_close(out, torch.tensor([[0.0, 12.0, 10.0, 32.0, 30.0]]))
    out0 = head.regress_by_class(rois, torch.tensor([0]), pred, {"img_shape": (64, 64, 3)})
    torch.testing.assert_close(out0, rois)


def test_config_of_cascade_is_not_mutated():
    cfg = {"type": "CascadeRoIHead", "num_stages": 2, "stage_loss_weights": [1, 0.5],
           "bbox_roi_extractor": _extractor(), "bbox_head": _bbox_head(True)}
    before = copy.deepcopy(cfg)
    head = build(cfg, "heads")
    assert cfg == before and len(head.bbox_head) == 2


def test_mismatched_stage_counts_are_config_errors():
    from segdet.api import ConfigError
    with pytest.raises(ConfigError, match="num_stages"):
        build({"type": "CascadeRoIHead", "num_stages": 3, "stage_loss_weights": [1, 0.5],
               "bbox_roi_extractor": _extractor(), "bbox_head": _bbox_head(True)}, "heads")
    with pytest.raises(ConfigError, match="bbox_head has 2 entries"):
        build({"type": "CascadeRoIHead", "num_stages": 3, "stage_loss_weights": [1, 0.5, 0.25],
               "bbox_roi_extractor": _extractor(), "bbox_head": [_bbox_head(True)] * 2}, "heads")


def test_forward_dummy_outputs():
    props = proposals(n=5, batch=1)[0][:, :4]
    x = feats(1)
    cls_score, bbox_pred, mask_pred = standard().forward_dummy(x, props)
    assert cls_score.shape == (5, NUM_CLASSES + 1) and bbox_pred.shape == (5, 4 * NUM_CLASSES)
    assert mask_pred.shape == (5, NUM_CLASSES, 28, 28)
    outs = cascade().forward_dummy(x, props)
    assert len(outs) == 6 and all(o.shape == (5, 4) for o in outs[1::2])


def test_aug_test_maps_flipped_views_back():
    """Stand-ins for the learnt parts that see the scene the way a view shows it: the object is
    the left half of the original image; a flipped view sees it on the right. Merged over an
    unflipped and a flipped view, boxes and masks equal the single view's."""
    from torchvision.ops import roi_align

    head = standard().eval()
    head.test_cfg = dict(TEST_CFG, mask_thr_binary=0.6)  # a wrong un-flip would average to 0.5
    obj = torch.zeros((SIZE, SIZE))
    obj[:, : SIZE // 2] = 1.0

    def box_predictions(x, rois, img_metas):
        scores = torch.zeros((rois.shape[0], NUM_CLASSES + 1))
        scores[:, 0] = (rois[:, 3] - rois[:, 1]) * (rois[:, 4] - rois[:, 2]) / SIZE**2  # flip-invariant
        return scores, torch.zeros((rois.shape[0], 4 * NUM_CLASSES)), rois

    def mask_probs(x, rois):
        seen = obj.flip(-1) if float(x[0].flatten()[0]) == 1.0 else obj
        crop = roi_align(seen[None, None], rois, (28, 28), 1.0, 0, True)
        return crop.expand(-1, NUM_CLASSES, -1, -1)

    head._box_predictions = box_predictions
    head._mask_probs = mask_probs
    plain = [torch.zeros(1, C, 4, 4)]
    flipped = [torch.ones(1, C, 4, 4)]
    props = [torch.tensor([[4.0, 8.0, 40.0, 50.0, 0.9], [20.0, 2.0, 60.0, 30.0, 0.8]])]
    single = head.simple_test(plain, props, metas(1), rescale=True)[0]
    merged = head.aug_test([plain, flipped], props, [metas(1), metas(1, flip=True)], rescale=True)[0]
    torch.testing.assert_close(merged["bboxes"], single["bboxes"])
    assert torch.equal(merged["labels"], single["labels"])
    assert torch.equal(merged["masks"], single["masks"])
    assert merged["masks"].any() and not merged["masks"][:, :, SIZE // 2 + 1:].any()


def test_cascade_empty_ground_truth_and_no_proposals():
    head = cascade(with_mask=True)
    empty_b = [torch.zeros((0, 4))] * 2
    empty_l = [torch.zeros((0,), dtype=torch.long)] * 2
    empty_m = [torch.zeros((0, SIZE, SIZE), dtype=torch.uint8)] * 2
    losses = head.forward_train(feats(), metas(), proposals(), empty_b, empty_l, gt_masks=empty_m)
    for i in range(3):
        assert torch.isfinite(losses[f"s{i}.loss_cls"]) and float(losses[f"s{i}.loss_cls"].detach()) > 0
        assert float(losses[f"s{i}.loss_bbox"].detach()) == 0.0
        assert float(losses[f"s{i}.loss_mask"].detach().sum()) == 0.0
    b, lb, m = gts()
    losses = head.forward_train(feats(), metas(), [torch.zeros((0, 5))] * 2, b, lb, gt_masks=m)
    assert all(torch.isfinite(v).all() for v in losses.values())


@pytest.mark.parametrize("cfg, shapes", [
    ({"type": "Shared4Conv1FCBBoxHead", "conv_out_channels": 8, "fc_out_channels": 16,
      "norm_cfg": {"type": "GN", "num_groups": 4}},
     {"shared_convs.3.conv.weight": [8, 8, 3, 3], "shared_convs.0.gn.weight": [8],
      "shared_fcs.0.weight": [16, 8 * 49]}),
    ({"type": "ConvFCBBoxHead", "num_shared_convs": 1, "num_cls_convs": 1, "num_reg_fcs": 2, "conv_out_channels": 8,
      "fc_out_channels": 16},
     {"cls_convs.0.conv.weight": [8, 8, 3, 3], "reg_fcs.0.weight": [16, 8 * 49], "fc_cls.weight": [4, 8 * 49],
      "fc_reg.weight": [12, 16]}),
    ({"type": "ConvFCBBoxHead", "num_shared_fcs": 1, "num_cls_fcs": 1, "with_avg_pool": True,
      "fc_out_channels": 16},
     {"shared_fcs.0.weight": [16, 8], "cls_fcs.0.weight": [16, 16], "fc_reg.weight": [12, 16]}),
])
def test_conv_fc_variants_shapes_and_names(cfg, shapes):
    head = build({**cfg, "in_channels": C, "num_classes": NUM_CLASSES}, "heads")
    sd = {k: list(v.shape) for k, v in head.state_dict().items()}
    for key, shape in shapes.items():
        assert sd[key] == shape, key
    cls_score, bbox_pred = head(torch.randn(5, C, 7, 7))
    assert cls_score.shape == (5, NUM_CLASSES + 1) and bbox_pred.shape == (5, 4 * NUM_CLASSES)


def test_mask_head_without_convs_and_bilinear_upsample():
    head = build({"type": "FCNMaskHead", "num_convs": 0, "in_channels": C, "num_classes": NUM_CLASSES,
                  "upsample_cfg": {"type": "bilinear", "scale_factor": 2, "align_corners": False},
                  "class_agnostic": True}, "heads")
    out = head(torch.randn(3, C, 14, 14))
    assert out.shape == (3, 1, 28, 28)
    assert "upsample.weight" not in head.state_dict()
    loss = head.loss(out, torch.ones(3, 28, 28), torch.tensor([0, 2, 1]))["loss_mask"]
    assert torch.isfinite(loss).all()


@pytest.mark.parametrize("make", [standard, lambda: cascade(with_mask=True)])
def test_one_image_without_proposals_in_a_batch(make):
    head = make().eval()
    props = [proposals(batch=1)[0], torch.zeros((0, 5))]
    with torch.no_grad():
        out = head.simple_test(feats(), props, metas(scale=0.5), rescale=True)
    assert out[0]["bboxes"].shape[0] > 0 and out[0]["masks"].shape[1:] == (128, 128)
    assert out[1]["bboxes"].shape == (0, 4) and out[1]["masks"].shape == (0, 128, 128)
    assert out[1]["labels"].dtype == torch.long


def test_aug_test_merges_a_half_scale_flipped_view():
    """Multi-scale + flip: a view at half size, mirrored, maps back onto the full-size view."""
    import torch.nn.functional as F
    from torchvision.ops import roi_align

    head = standard().eval()
    head.test_cfg = dict(TEST_CFG, mask_thr_binary=0.6)
    obj = torch.zeros((SIZE, SIZE))
    obj[:, : SIZE // 2] = 1.0

    def box_predictions(x, rois, img_metas):
        h, w = img_metas[0]["img_shape"][:2]
        scores = torch.zeros((rois.shape[0], NUM_CLASSES + 1))
        scores[:, 0] = (rois[:, 3] - rois[:, 1]) * (rois[:, 4] - rois[:, 2]) / (h * w)  # scale-invariant
        return scores, torch.zeros((rois.shape[0], 4 * NUM_CLASSES)), rois

    def mask_probs(x, rois):
        half = float(x[0].flatten()[0]) == 1.0
        seen = F.interpolate(obj[None, None], scale_factor=0.5, mode="nearest")[0, 0].flip(-1) if half else obj
        return roi_align(seen[None, None], rois, (28, 28), 1.0, 0, True).expand(-1, NUM_CLASSES, -1, -1)

    head._box_predictions = box_predictions
    head._mask_probs = mask_probs
    full, small = [torch.zeros(1, C, 4, 4)], [torch.ones(1, C, 2, 2)]
    m_full = metas(1)
    m_small = [{**metas(1, scale=0.5, flip=True)[0], "img_shape": (SIZE // 2, SIZE // 2, 3),
                "ori_shape": (SIZE, SIZE, 3)}]
    props = [torch.tensor([[4.0, 8.0, 40.0, 50.0, 0.9], [20.0, 2.0, 60.0, 30.0, 0.8]])]
    single = head.simple_test(full, props, m_full, rescale=True)[0]
    merged = head.aug_test([full, small], props, [m_full, m_small], rescale=True)[0]
    torch.testing.assert_close(merged["bboxes"], single["bboxes"])
    inter = (merged["masks"] & single["masks"]).sum((1, 2)).float()
    union = (merged["masks"] | single["masks"]).sum((1, 2)).float()
    assert bool((inter / union > 0.95).all())
    assert not merged["masks"][:, :, SIZE // 2 + 1:].any()
