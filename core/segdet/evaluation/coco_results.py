"""Per-image detection results -> COCO result annotations (boxes as xywh, masks as RLE)."""
from __future__ import annotations

import contextlib
import copy
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["CocoDetections", "collect_detections", "load_detections", "results_to_coco_json", "encode_masks",
           "encode_mask_results", "unpack_result"]


def _to_numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):  # torch.Tensor, without importing torch here
        x = x.detach().cpu().numpy()
    return np.asarray(x)


_AREA_CHUNK = 255  # the most RLEs one pycocotools ``area()`` call takes under NumPy 2 (see load_detections)


def encode_masks(masks: Any) -> list[dict[str, Any]]:
    """RLE dicts (``counts`` as str) from a list of RLE dicts / (H, W) bitmaps or an (N, H, W) array.

    A bool (N, H, W) Tensor or array is encoded in one pycocotools call after a single copy:
    the Fortran-ordered (H, W, N) array pycocotools wants is the C-ordered (N, W, H) one.
    """
    from pycocotools import mask as mask_utils

    if isinstance(masks, (list, tuple)) and (len(masks) == 0 or isinstance(masks[0], dict)):
        rles = [dict(m) for m in masks]
    else:
        if isinstance(masks, (list, tuple)):  # MMDetection 2.x: a list of (H, W) bitmaps
            masks = np.stack([_to_numpy(m) for m in masks])
        arr = _to_numpy(masks)
        if arr.size == 0:
            return []
        if arr.ndim != 3:
            raise ValueError(f"masks must be a list of RLE dicts or an (N, H, W) array, got shape {arr.shape}")
        arr = arr.view(np.uint8) if arr.dtype == np.bool_ else (arr > 0).view(np.uint8)
        fortran = np.ascontiguousarray(arr.transpose(0, 2, 1)).transpose(2, 1, 0)
        rles = mask_utils.encode(fortran)
    for rle in rles:
        if isinstance(rle["counts"], bytes):
            rle["counts"] = rle["counts"].decode("ascii")
    return rles


def unpack_result(result: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, Any]:
    """``(bboxes (N,4), scores (N,), labels (N,), masks or None)`` of one image's result.

    Accepts the segdet dict (``bboxes``, ``scores``, ``labels``, optional ``masks``), MMDetection
    2.x's list of per-class (N, 5) arrays, its ``(bbox_results, segm_results)`` tuple (per-class
    lists of RLE dicts or bitmaps; ``segm_results`` may itself be ``(segms, mask_scores)``), and
    one (N, 5) array of proposals (all label 0).
    """
    if isinstance(result, dict):
        bboxes = _to_numpy(result["bboxes"]).reshape(-1, 4).astype(np.float64)
        n = len(bboxes)
        scores = _to_numpy(result.get("scores", np.ones(n))).reshape(-1).astype(np.float64)
        labels = _to_numpy(result.get("labels", np.zeros(n))).reshape(-1).astype(np.int64)
        return bboxes, scores, labels, result.get("masks")
    if hasattr(result, "shape") and len(result.shape) == 2:  # proposals: one (N, 5) array
        dets = _to_numpy(result).reshape(-1, 5).astype(np.float64)
        return dets[:, :4], dets[:, 4], np.zeros(len(dets), np.int64), None
    masks = None
    if isinstance(result, tuple) and len(result) == 2:  # MMDetection 2.x (bbox_results, segm_results)
        result, segms = result
        if isinstance(segms, tuple):
            segms = segms[0]
        masks = [m for per_class in segms for m in per_class]
    per_class = [_to_numpy(r).reshape(-1, 5) for r in result]
    dets = np.concatenate(per_class) if per_class else np.zeros((0, 5))
    labels = np.concatenate([np.full(len(r), k, np.int64) for k, r in enumerate(per_class)]) \
        if per_class else np.zeros(0, np.int64)
    return dets[:, :4].astype(np.float64), dets[:, 4].astype(np.float64), labels, masks


@dataclass(frozen=True)
class CocoDetections:
    """Every detection of a data set as flat arrays, in result order (image by image).

    Attributes:
        image_ids: (N,) int64 COCO image id of each detection.
        category_ids: (N,) int64 COCO category id.
        scores: (N,) float64.
        bboxes: (N, 4) float64 ``x, y, w, h`` (what the boxes give; unused for ``'segm'``).
        segms: N RLE dicts (``counts`` str) for ``'segm'``, else None.
        metric: ``'bbox'``, ``'segm'`` or ``'proposal'``.
    """

    image_ids: np.ndarray
    category_ids: np.ndarray
    scores: np.ndarray
    bboxes: np.ndarray
    segms: list[dict[str, Any]] | None
    metric: str

    def __len__(self) -> int:
        return len(self.scores)

    def to_json(self) -> list[dict[str, Any]]:
        """COCO result annotations: ``image_id``, ``category_id``, ``score`` and ``bbox`` (xywh) or
        ``segmentation`` (RLE, no box, so that areas come from the masks), plain Python values."""
        cols = (self.image_ids.tolist(), self.category_ids.tolist(), self.scores.tolist())
        if self.segms is not None:
            return [{"image_id": i, "category_id": c, "score": s, "segmentation": r}
                    for i, c, s, r in zip(*cols, self.segms)]
        return [{"image_id": i, "category_id": c, "score": s, "bbox": b}
                for i, c, s, b in zip(*cols, self.bboxes.tolist())]


def collect_detections(results: Sequence[Any], img_ids: Sequence[int], cat_ids: Sequence[int],
                       metric: str = "bbox") -> CocoDetections:
    """Per-image results as one :class:`CocoDetections`: one pass over the images, no Python
    work per detection except for masks (RLE-encoded per image in one pycocotools call).

    Args: as :func:`results_to_coco_json`.
    """
    if len(results) != len(img_ids):
        raise ValueError(f"{len(results)} results for {len(img_ids)} images: the results must follow "
                         f"the data set's img_ids one to one")
    cat_arr = np.asarray(list(cat_ids), dtype=np.int64)
    boxes, scores, labels, counts = [], [], [], []
    segms: list[dict[str, Any]] | None = [] if metric == "segm" else None
    for img_id, result in zip(img_ids, results):
        b, s, lab, masks = unpack_result(result)
        counts.append(len(b))
        if len(b) == 0:
            continue
        boxes.append(b)
        scores.append(s)
        labels.append(lab)
        if segms is not None:
            if masks is None:
                raise ValueError(f"metric 'segm' needs 'masks' in the result of image {img_id}")
            rles = encode_masks(masks)
            if len(rles) != len(b):
                raise ValueError(f"image {img_id}: {len(rles)} masks for {len(b)} boxes")
            segms.extend(rles)
    image_ids = np.repeat(np.asarray(list(img_ids), dtype=np.int64), counts)
    label_arr = np.concatenate(labels) if labels else np.zeros(0, np.int64)
    if metric == "proposal":
        cats = np.full(len(label_arr), cat_arr[0] if len(cat_arr) else 1, np.int64)
    else:
        bad = (label_arr < 0) | (label_arr >= len(cat_arr))
        if bad.any():
            first = image_ids[np.argmax(bad)]
            wrong = sorted(set(label_arr[bad & (image_ids == first)].tolist()))
            raise ValueError(f"labels {wrong} of image {first} are outside [0, {len(cat_arr)}): "
                             f"labels index the data set's cat_ids")
        cats = cat_arr[label_arr]
    xywh = np.concatenate(boxes) if boxes else np.zeros((0, 4))
    xywh[:, 2:] -= xywh[:, :2]
    return CocoDetections(image_ids, cats, np.concatenate(scores) if scores else np.zeros(0), xywh,
                          segms, metric)


def results_to_coco_json(results: Sequence[Any], img_ids: Sequence[int], cat_ids: Sequence[int],
                         metric: str = "bbox") -> list[dict[str, Any]]:
    """COCO result annotations from per-image detections.

    Args:
        results: per image, ``dict(bboxes=(N,4) x1y1x2y2, scores=(N,), labels=(N,) in [0, K))`` with
            optional ``masks`` (list of RLE dicts or (N,H,W) bool) for ``'segm'``; tensors or arrays.
        img_ids: COCO image id of each result, in order.
        cat_ids: COCO category id of each label index.
        metric: ``'bbox'`` (xywh boxes), ``'segm'`` (RLE ``segmentation``, no box, so that areas come
            from the masks) or ``'proposal'`` (boxes, every one in the first category).

    Returns:
        list of dicts with ``image_id``, ``category_id``, ``score`` and ``bbox`` or ``segmentation``.
    """
    return collect_detections(results, img_ids, cat_ids, metric).to_json()


def load_detections(gt: Any, dets: CocoDetections) -> Any:
    """The backend's result COCO object of ``dets``: what ``gt.loadRes(dets.to_json())`` builds.

    ``loadRes`` of pycocotools and faster-coco-eval fills ``area``, ``id`` and ``iscrowd`` (and a
    box or a polygon nobody reads) detection by detection in Python; here areas come from numpy
    (boxes) or one pycocotools call (RLE), and each annotation dict is built once, complete.
    ``gt`` is a COCO object of either backend; the result is of the same class.
    """
    from pycocotools import mask as mask_utils

    known = np.fromiter(gt.imgs.keys(), dtype=np.int64, count=len(gt.imgs))
    unknown = np.setdiff1d(dets.image_ids, known)
    if unknown.size:
        raise ValueError(f"results for image ids {unknown[:10].tolist()} that the ground truth does not hold: "
                         f"the data set's img_ids and its coco annotations disagree")
    ids = range(1, len(dets) + 1)
    cols = (dets.image_ids.tolist(), dets.category_ids.tolist(), dets.scores.tolist())
    if dets.segms is not None:
        # pycocotools' area() sizes a scratch array with np.array((n,), dtype=np.uint8), which
        # NumPy 2 refuses for n > 255: call it on chunks of at most 255 RLEs
        area = [a for i in range(0, len(dets.segms), _AREA_CHUNK)
                for a in mask_utils.area(dets.segms[i:i + _AREA_CHUNK]).tolist()]
        boxes = mask_utils.toBbox(dets.segms).tolist() if dets.segms else []
        anns = [{"image_id": i, "category_id": c, "score": s, "segmentation": r, "area": a, "bbox": b,
                 "id": k, "iscrowd": 0}
                for i, c, s, r, a, b, k in zip(*cols, dets.segms, area, boxes, ids)]
    else:
        area = (dets.bboxes[:, 2] * dets.bboxes[:, 3]).tolist()
        anns = [{"image_id": i, "category_id": c, "score": s, "bbox": b, "area": a, "id": k, "iscrowd": 0}
                for i, c, s, b, a, k in zip(*cols, dets.bboxes.tolist(), area, ids)]
    res = type(gt)()
    res.dataset = {"images": list(gt.dataset.get("images", [])),
                   "categories": copy.deepcopy(gt.dataset.get("categories", [])),
                   "annotations": anns}
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints its progress
        res.createIndex()
    return res


def encode_mask_results(result: Any) -> Any:
    """``result`` with bool (N, H, W) ``masks`` replaced by a list of N RLE dicts (``counts`` str).

    What the test loops keep per image: an original-size bool mask per detection costs H*W bytes,
    its RLE a few hundred. Results without array masks (boxes only, segmentation maps, RLE
    already) come back unchanged.
    """
    if not isinstance(result, dict) or result.get("masks") is None:
        return result
    masks = result["masks"]
    if isinstance(masks, (list, tuple)):
        return result
    return {**result, "masks": encode_masks(masks)}
