"""Checks run on built data sets before any training: an empty split is an error naming its file
and the filter that emptied it."""
from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

__all__ = ["empty_split_message", "require_not_empty"]


def _inner(ds_cfg: Mapping[str, Any]) -> Mapping[str, Any]:
    """The data set a wrapper (``RepeatDataset``, ``ClassBalancedDataset``...) wraps."""
    inner = ds_cfg.get("dataset")
    return _inner(inner) if isinstance(inner, Mapping) else ds_cfg


def _count(ds_cfg: Mapping[str, Any], **overrides: Any) -> int | None:
    """Length of the data set built from ``ds_cfg`` with ``overrides``, ``None`` if that fails."""
    from segdet.data.builder import build_dataset

    cfg = copy.deepcopy(dict(_inner(ds_cfg)))
    cfg.update(overrides)
    try:
        return len(build_dataset(cfg))
    except Exception:  # only used to explain an emptiness already found
        return None


def empty_split_message(split: str, ds_cfg: Mapping[str, Any], config: str, test_mode: bool) -> str:
    """Why ``data.<split>`` holds no image: the file, and which filter removed the images."""
    inner = _inner(ds_cfg)
    source = inner.get("ann_file") or inner.get("img_dir") or inner.get("img_prefix") or "?"
    root = inner.get("data_root")
    where = f"{source!r}" + (f" (data_root {root!r})" if root else "")
    head = f"{config}: data.{split} is empty: {inner.get('type', 'the data set')} read 0 images from {where}"
    classes = inner.get("classes")
    cls_text = f" of classes={list(classes) if not isinstance(classes, str) else classes!r}" if classes else ""
    if test_mode:
        reason = ("the file lists no image" if "ann_file" in inner else
                  f"no file in it ends with img_suffix={inner.get('img_suffix', '.jpg')!r}")
        return f"{head}; {reason}. Point data.{split} at the right file."
    unfiltered = _count(ds_cfg, test_mode=True)
    if not unfiltered:
        reason = ("the file lists no image" if "ann_file" in inner else
                  f"no file in it ends with img_suffix={inner.get('img_suffix', '.jpg')!r}")
        return f"{head}; {reason}. Point data.{split} at the right file."
    gt_filter = inner.get("filter_empty_gt", True)
    kept_without_gt_filter = _count(ds_cfg, filter_empty_gt=False) if gt_filter else None
    if kept_without_gt_filter:
        return (f"{head}: the file holds {unfiltered} images, and filter_empty_gt=True dropped every one, "
                f"since none has an annotation{cls_text}. Check data.{split}.classes against the "
                f"categories of the file, or set data.{split}.filter_empty_gt=False.")
    filters = "images under 32 pixels on a side"
    if gt_filter and kept_without_gt_filter is not None:
        filters += f", images without an annotation{cls_text}"
    return (f"{head}: the file holds {unfiltered} images, and the training filters ({filters}) dropped "
            "all of them. Check the image sizes and annotations of the file.")

def require_not_empty(split: str, dataset: Any, ds_cfg: Mapping[str, Any], config: str,
                      test_mode: bool = False) -> None:
    """Raise :class:`segdet.errors.DataError` when ``dataset`` has no item."""
    from segdet.errors import DataError

    try:
        size = len(dataset)
    except TypeError:
        return
    if size == 0:
        raise DataError(empty_split_message(split, ds_cfg, config, test_mode))


POLICIES = ("error", "skip")


def pop_bad_sample_policies(cfg: Any) -> dict[str, str]:
    """Take ``bad_samples`` out of ``data`` and each split (the data sets do not take it) and
    return the policy per split: ``'error'`` (default: stop before training) or ``'skip'``."""
    from segdet.errors import ConfigError

    data = cfg.get("data") or {}
    default = data.pop("bad_samples", "error") if hasattr(data, "pop") else "error"
    out = {}
    for split in ("train", "val", "test"):
        pop = getattr(data.get(split), "pop", None)
        policy = pop("bad_samples", default) if callable(pop) else default
        if policy not in POLICIES:
            raise ConfigError(f"data.{split}.bad_samples={policy!r}: expected one of {POLICIES}")
        out[split] = policy
    return out


DECODE_LIMIT = 5000  # larger sets: `segdet train` checks files and annotations, check-data decodes


def check_samples(split: str, dataset: Any, policy: str, config: str, decode: bool | None = None) -> tuple[Any, str]:
    """Run :func:`segdet.data.check.check_dataset` on ``dataset`` (decoding every image when it has
    at most :data:`DECODE_LIMIT` samples, unless ``decode`` says).

    Returns ``(dataset, note)``: with problems and ``policy='skip'`` the data set without the bad
    samples and a note for the log; with ``'error'`` a :class:`segdet.errors.DataError` listing them.
    """
    from segdet.data.check import check_dataset, drop_samples, summarize_problems
    from segdet.errors import DataError

    size = len(dataset)
    if decode is None:
        decode = size <= DECODE_LIMIT
    problems = check_dataset(dataset, decode=decode)
    if not problems:
        return dataset, ("" if decode else f"data.{split}: {size} images checked for existence, not decoded "
                         f"(more than {DECODE_LIMIT}); `segdet check-data` decodes them all")
    summary = summarize_problems(problems, f"{config}: data.{split}")
    if policy == "skip":
        bad = {p.sample for p in problems if p.sample >= 0}
        try:
            kept = drop_samples(dataset, bad)
        except TypeError as err:  # a wrapper (RepeatDataset, ...): its length is fixed when built
            raise DataError(f"{summary}\nbad_samples='skip' cannot leave samples out of a "
                            f"{type(dataset).__name__}; fix or remove them in the file") from err
        return kept, f"{summary}\nbad_samples='skip': {len(bad)} sample{'s' if len(bad) != 1 else ''} left out of data.{split}"
    raise DataError(f"{summary}\nFix or remove these samples, or set data.{split}.bad_samples='skip' "
                    "to leave them out (segdet check-data CONFIG lists them all).")


def build_split(split: str, ds_cfg: Mapping[str, Any], config: str,
                default_args: Mapping[str, Any] | None = None) -> Any:
    """``build_dataset`` for ``data.<split>``; an error of no segdet type raised while reading the
    files (a truncated JSON, an entry without 'width', ...) becomes a DataError naming the split,
    the data set and its annotation file."""
    from segdet.data.builder import build_dataset
    from segdet.errors import DataError, SegdetError

    try:
        return build_dataset(dict(ds_cfg), dict(default_args) if default_args else None)
    except (SegdetError, FileNotFoundError):
        raise
    except Exception as err:
        inner = _inner(ds_cfg)
        source = inner.get("ann_file") or inner.get("img_dir") or inner.get("img_prefix")
        detail = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
        if isinstance(err, KeyError):
            detail = f"an entry has no key {err}"
        raise DataError(f"{config}: data.{split}: {inner.get('type', 'the data set')} could not read "
                        f"{source!r}: {detail}. Check that file (is it complete, in the expected format?)"
                        ) from err
