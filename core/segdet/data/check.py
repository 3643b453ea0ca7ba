"""Check a built data set before training: image files exist and decode, boxes are valid, categories
known, label maps readable. ``segdet check-data`` and ``segdet train`` run it.

It reads what the data sets keep: ``data_infos`` + ``img_prefix`` (detection; ``coco`` for the raw
annotations, which the data set itself filters without a word) or ``img_infos`` + ``img_dir`` /
``ann_dir`` (segmentation). A data set of another shape is reported as not checkable, not as clean.
"""
from __future__ import annotations

import copy
import os.path as osp
from collections import Counter
from collections.abc import Sequence
from typing import Any, NamedTuple

__all__ = ["SampleProblem", "check_dataset", "drop_samples", "summarize_problems", "checkable"]


class SampleProblem(NamedTuple):
    """One bad sample: ``sample`` is its index in the data set, the file concerned and what is wrong."""

    sample: int
    file: str
    what: str


def _infos(dataset: Any) -> list[dict[str, Any]] | None:
    for attr in ("data_infos", "img_infos"):
        infos = getattr(dataset, attr, None)
        if isinstance(infos, list) and (not infos or isinstance(infos[0], dict)):
            return infos
    return None


def checkable(dataset: Any) -> bool:
    """Whether :func:`check_dataset` knows where this data set keeps its file list."""
    return _infos(dataset) is not None


def _image_folder(dataset: Any) -> str:
    return str(getattr(dataset, "img_prefix", None) or getattr(dataset, "img_dir", None) or "")


def _check_image(path: str, decode: bool, expected: tuple[int, int] | None) -> str | None:
    if not osp.isfile(path):
        return "image file does not exist (check img_prefix / img_dir)"
    if not decode:
        return None
    import cv2

    img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if img is None:
        return f"image file cannot be decoded ({osp.getsize(path)} bytes): corrupt or not an image"
    if expected is not None and tuple(img.shape[:2]) != expected:
        return (f"image is {img.shape[1]}x{img.shape[0]} but the annotation says "
                f"{expected[1]}x{expected[0]} (width x height)")
    return None


def _coco_box_problems(dataset: Any, info: dict[str, Any], width: Any, height: Any) -> list[str]:
    coco = getattr(dataset, "coco", None)
    if coco is None or "id" not in info:
        return []
    known = {c["id"] for c in coco.dataset.get("categories", [])}
    out = []
    for ann in coco.imgToAnns.get(info["id"], []):
        box = ann.get("bbox")
        tag = f"annotation id {ann.get('id')}"
        if ann.get("category_id") not in known:
            out.append(f"{tag}: category_id {ann.get('category_id')!r} is not a category of the file "
                       f"(known: {sorted(known)})")
        if not (isinstance(box, (list, tuple)) and len(box) == 4):
            out.append(f"{tag}: bbox {box!r} is not [x, y, w, h]")
            continue
        x, y, w, h = box
        if w <= 0 or h <= 0:
            out.append(f"{tag}: bbox {box} has no area (w={w}, h={h})")
        elif isinstance(width, (int, float)) and isinstance(height, (int, float)) and (
                x < 0 or y < 0 or x + w > width + 1 or y + h > height + 1):
            out.append(f"{tag}: bbox {box} lies outside the {width}x{height} image")
    return out


def check_dataset(dataset: Any, decode: bool = True) -> list[SampleProblem]:
    """Every problem of every sample of ``dataset`` (in index order).

    Args:
        dataset: a built data set (``CocoDataset``, ``XMLDataset``, ``CustomDataset``, a wrapper).
        decode: also decode every image (slower; finds corrupt files).
    """
    inner = dataset
    while _infos(inner) is None and hasattr(inner, "dataset"):
        inner = inner.dataset
    infos = _infos(inner)
    if infos is None:
        return []
    folder = _image_folder(inner)
    ann_dir = getattr(inner, "ann_dir", None)
    problems: list[SampleProblem] = []
    for index, info in enumerate(infos):
        name = info.get("filename") or info.get("file_name")
        if not name:
            problems.append(SampleProblem(index, "?", f"image entry {info.get('id', index)!r} has no file name"))
            continue
        path = osp.join(folder, name) if folder else str(name)
        width, height = info.get("width"), info.get("height")
        if getattr(inner, "coco", None) is not None and (width is None or height is None):
            problems.append(SampleProblem(index, path, "image entry has no 'width' / 'height'"))
        expected = (int(height), int(width)) if isinstance(width, int) and isinstance(height, int) else None
        what = _check_image(path, decode, expected)
        if what:
            problems.append(SampleProblem(index, path, what))
        for text in _coco_box_problems(inner, info, width, height):
            problems.append(SampleProblem(index, path, text))
        seg_map = (info.get("ann") or {}).get("seg_map")
        if seg_map and ann_dir and not getattr(inner, "test_mode", False):
            seg_path = osp.join(ann_dir, seg_map)
            what = _check_image(seg_path, decode, None)
            if what:
                problems.append(SampleProblem(index, seg_path, what.replace("image file", "label map")))
    problems += _left_out_problems(inner, infos, folder)
    return problems


def _left_out_problems(dataset: Any, infos: list[dict[str, Any]], folder: str) -> list[SampleProblem]:
    """Images of the annotation file the data set left out (``filter_empty_gt``) because their
    annotations name unknown categories: reported with sample ``-1``, as the set never held them."""
    coco = getattr(dataset, "coco", None)
    if coco is None:
        return []
    kept = {info.get("id") for info in infos}
    known = {c["id"] for c in coco.dataset.get("categories", [])}
    out = []
    for img_id, img in sorted(coco.imgs.items()):
        if img_id in kept:
            continue
        for ann in coco.imgToAnns.get(img_id, []):
            if ann.get("category_id") not in known:
                path = osp.join(folder, img.get("file_name", "?")) if folder else str(img.get("file_name"))
                out.append(SampleProblem(-1, path, f"annotation id {ann.get('id')}: category_id "
                                         f"{ann.get('category_id')!r} is not a category of the file "
                                         f"(known: {sorted(known)}); the image was left out of the set"))
    return out


def summarize_problems(problems: Sequence[SampleProblem], where: str, limit: int = 10) -> str:
    """``where: N problems in M samples`` then the first ``limit``, one a line, and counts by kind."""
    samples = len({(p.sample, p.file) for p in problems})
    lines = [f"{where}: {len(problems)} problem{'s' if len(problems) != 1 else ''} in {samples} "
             f"sample{'s' if samples != 1 else ''}:"]
    lines += [f"  {'#' + str(p.sample) if p.sample >= 0 else 'not in the set'} {p.file}: {p.what}"
              for p in problems[:limit]]
    if len(problems) > limit:
        kinds = Counter(p.what.split(":")[0].split(" (")[0] for p in problems[limit:])
        lines.append(f"  ... and {len(problems) - limit} more: "
                     + ", ".join(f"{n} x {k}" for k, n in kinds.most_common(5)))
    return "\n".join(lines)


def drop_samples(dataset: Any, indices: set[int]) -> Any:
    """A shallow copy of ``dataset`` without the samples at ``indices`` (``bad_samples='skip'``):
    every per-sample list of the same length as the file list is filtered alike."""
    if not indices:
        return dataset
    infos = _infos(dataset)
    if infos is None:
        raise TypeError(f"{type(dataset).__name__}: cannot drop samples of a data set without data_infos")
    total = len(infos)
    keep = [i for i in range(total) if i not in indices]
    copied = copy.copy(dataset)
    for attr, value in vars(dataset).items():
        if isinstance(value, list) and len(value) == total:
            setattr(copied, attr, [value[i] for i in keep])
        elif hasattr(value, "shape") and getattr(value, "shape", (None,))[:1] == (total,):
            setattr(copied, attr, value[keep])  # e.g. the aspect-ratio ``flag`` array
    return copied
