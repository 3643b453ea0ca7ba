"""RoI heads' test-time augmentation: views mapped back to the original image and merged."""
from __future__ import annotations

import torch

from .roi_cases import NUM_CLASSES, SIZE, TEST_CFG, C, feats, metas, proposals, standard


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
