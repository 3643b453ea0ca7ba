"""eval_map against APs worked out by hand (area and 11-point modes, ignores, scale ranges)."""
from __future__ import annotations

import numpy as np
import pytest

from segdet.evaluation.mean_ap import average_precision, bbox_overlaps, eval_map


def _case() -> tuple[list[list[np.ndarray]], list[dict[str, np.ndarray]]]:
    """Two images, three classes.

    Class 0 (image 0): ground truth A=[0,0,10,10], B=[20,20,30,30]; detections by score:
    A exact (TP), far box (FP), B exact (TP), A again (FP, duplicate).
    -> recall .5 .5 1 1, precision 1 .5 2/3 .5.
    Class 1: image 1 has a difficult C=[0,0,20,20] and D=[40,40,60,60]; detections C exact (0.95,
    matches an ignored box: neither TP nor FP), D shifted by 1 (0.5, IoU 361/439: TP); image 0 has
    one class-1 detection and no class-1 ground truth (0.3, FP).
    Class 2: one detection, no ground truth anywhere: AP 0, left out of the mean.
    """
    dets0 = [np.array([[0, 0, 10, 10, 0.9], [50, 50, 60, 60, 0.8], [20, 20, 30, 30, 0.7],
                       [0, 0, 10, 10, 0.6]], np.float32),
             np.array([[70, 70, 80, 80, 0.3]], np.float32),
             np.array([[5, 5, 9, 9, 0.4]], np.float32)]
    dets1 = [np.zeros((0, 5), np.float32),
             np.array([[0, 0, 20, 20, 0.95], [41, 41, 61, 61, 0.5]], np.float32),
             np.zeros((0, 5), np.float32)]
    anns = [dict(bboxes=np.array([[0, 0, 10, 10], [20, 20, 30, 30]], np.float32), labels=np.array([0, 0]),
                 bboxes_ignore=np.zeros((0, 4), np.float32), labels_ignore=np.zeros(0, np.int64)),
            dict(bboxes=np.array([[40, 40, 60, 60]], np.float32), labels=np.array([1]),
                 bboxes_ignore=np.array([[0, 0, 20, 20]], np.float32), labels_ignore=np.array([1]))]
    return [dets0, dets1], anns


def test_area_mode_by_hand(capsys: pytest.CaptureFixture[str]) -> None:
    dets, anns = _case()
    mean_ap, results = eval_map(dets, anns, dataset=("cat", "dog", "bird"))
    # class 0: envelope 1 up to recall .5, 2/3 up to 1: .5 * 1 + .5 * 2/3
    assert results[0]["ap"] == pytest.approx(0.5 + 0.5 * 2 / 3, abs=1e-6)
    np.testing.assert_allclose(results[0]["recall"], [0.5, 0.5, 1, 1], atol=1e-6)
    np.testing.assert_allclose(results[0]["precision"], [1, 0.5, 2 / 3, 0.5], atol=1e-6)
    assert results[1]["ap"] == pytest.approx(1.0)
    np.testing.assert_allclose(results[1]["precision"], [0, 1, 0.5], atol=1e-6)
    assert (results[1]["num_gts"], results[1]["num_dets"]) == (1, 3)
    assert (results[2]["num_gts"], results[2]["ap"]) == (0, 0)
    assert mean_ap == pytest.approx((5 / 6 + 1) / 2, abs=1e-6)
    table = capsys.readouterr().out
    assert "| dog " in table and "| mAP " in table and "0.917" in table


def test_voc07_eleven_points_by_hand() -> None:
    dets, anns = _case()
    mean_ap, results = eval_map(dets, anns, dataset="voc07", logger="silent")
    # class 0: precision 1 for thresholds 0 .. .5 (6 points), 2/3 for .6 .. 1 (5 points)
    assert results[0]["ap"] == pytest.approx((6 + 5 * 2 / 3) / 11, abs=1e-6)
    assert results[1]["ap"] == pytest.approx(1.0)
    assert mean_ap == pytest.approx(((6 + 5 * 2 / 3) / 11 + 1) / 2, abs=1e-6)
    assert eval_map(dets, anns, eval_mode="11points", logger="silent")[0] == pytest.approx(mean_ap)


def test_scale_ranges_by_hand() -> None:
    dets, anns = _case()
    # areas < 15**2 = 225: A, B (100) and the far detections; >= 225: D (400)
    mean_ap, results = eval_map(dets, anns, scale_ranges=[(0, 15), (15, 1e5)], logger="silent")
    np.testing.assert_array_equal(results[0]["num_gts"], [2, 0])
    np.testing.assert_array_equal(results[1]["num_gts"], [0, 1])
    np.testing.assert_allclose(results[0]["ap"], [5 / 6, 0], atol=1e-6)
    np.testing.assert_allclose(results[1]["ap"], [0, 1], atol=1e-6)
    assert mean_ap == pytest.approx([5 / 6, 1.0], abs=1e-6)


def test_average_precision_direct() -> None:
    rec, prec = np.array([0.5, 0.5, 1, 1]), np.array([1, 0.5, 2 / 3, 0.5])
    assert average_precision(rec, prec) == pytest.approx(5 / 6, abs=1e-6)
    both = average_precision(np.stack([rec, rec]), np.stack([prec, prec]), "11points")
    np.testing.assert_allclose(both, [(6 + 10 / 3) / 11] * 2, atol=1e-6)
    with pytest.raises(ValueError, match="11points"):
        average_precision(rec, prec, "101")


def test_legacy_coordinates() -> None:
    a, b = np.array([[0, 0, 9, 9]], np.float32), np.array([[5, 0, 14, 9]], np.float32)
    assert bbox_overlaps(a, b)[0, 0] == pytest.approx(36 / 126)
    assert bbox_overlaps(a, b, use_legacy_coordinate=True)[0, 0] == pytest.approx(50 / 150)
    assert bbox_overlaps(a, a, use_legacy_coordinate=True)[0, 0] == pytest.approx(1.0)


def test_iou_threshold_and_processes() -> None:
    dets, anns = _case()
    # at IoU .9 the shifted D (IoU .82) becomes a false positive: class 1 AP 0
    mean_ap, results = eval_map(dets, anns, iou_thr=0.9, logger="silent")
    assert results[1]["ap"] == 0
    assert eval_map(dets, anns, nproc=2, logger="silent")[0] == eval_map(dets, anns, logger="silent")[0]


def test_no_annotations_ignore_keys_and_no_dets() -> None:
    anns = [dict(bboxes=np.array([[0, 0, 10, 10]], np.float32), labels=np.array([0]))]
    mean_ap, results = eval_map([[np.zeros((0, 5), np.float32)]], anns, logger="silent")
    assert mean_ap == 0.0 and results[0]["num_gts"] == 1 and results[0]["num_dets"] == 0
