"""``segdet browse-dataset CFG``: run a split's pipeline and write its images with ground truth drawn.

As MMDetection's ``tools/misc/browse_dataset.py``: the pipeline runs without the steps that turn an
image into a network input (``--skip-type``, default ``DefaultFormatBundle Normalize Collect
ImageToTensor``), so what is drawn is what the model is trained on, after resizing, flipping,
cropping. Drawing is :mod:`segdet.visualization`'s, as ``segdet test --show-dir`` draws.
"""
from __future__ import annotations

import copy
import os
from collections.abc import Mapping, Sequence
from typing import Any

import click

from ._common import GreedyOption, cfg_options_option, load_config

__all__ = ["browse_dataset"]

DEFAULT_SKIP = ("DefaultFormatBundle", "Normalize", "Collect", "ImageToTensor")


def _type_name(step: Any) -> str:
    kind = step.get("type") if isinstance(step, Mapping) else None
    return kind if isinstance(kind, str) else getattr(kind, "__name__", str(kind))


def _flatten_tta(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A test pipeline's ``MultiScaleFlipAug`` replaced by its transforms at its first scale, unflipped."""
    out: list[dict[str, Any]] = []
    for step in steps:
        if _type_name(step) != "MultiScaleFlipAug":
            out.append(step)
            continue
        scale = step.get("img_scale")
        if isinstance(scale, list):
            scale = scale[0]
        for inner in step.get("transforms", []):
            inner = dict(inner)
            if _type_name(inner) == "RandomFlip":
                continue
            if _type_name(inner) == "Resize" and scale is not None and not inner.get("img_scale"):
                inner["img_scale"] = tuple(scale)
            out.append(inner)
    return out


def _dataset_cfg(cfg: Any, split: str, skip: Sequence[str], config: str) -> dict[str, Any]:
    data = cfg.get("data") or {}
    if split not in data:
        raise click.ClickException(f"{config}: no data.{split} section; splits there: "
                                   f"{', '.join(k for k in ('train', 'val', 'test') if k in data) or 'none'}")
    ds = copy.deepcopy(dict(data[split]))
    while "dataset" in ds and "pipeline" not in ds:  # RepeatDataset / ClassBalancedDataset wrappers
        ds = dict(ds["dataset"])
    steps = _flatten_tta([dict(s) for s in ds.get("pipeline", [])])
    if not any(_type_name(s) == "LoadAnnotations" for s in steps):
        # val/test pipelines load no annotations: borrow the training pipeline's loader
        train = dict(data.get("train") or {})
        while "dataset" in train and "pipeline" not in train:
            train = dict(train["dataset"])
        loader = next((dict(s) for s in train.get("pipeline", []) if _type_name(s) == "LoadAnnotations"),
                      {"type": "LoadAnnotations"})
        steps.insert(1 if steps else 0, loader)
    ds["pipeline"] = [s for s in steps if _type_name(s) not in skip]
    ds.pop("test_mode", None)
    return ds


def _as_image(img: Any) -> Any:
    import numpy as np

    if hasattr(img, "detach"):  # a formatted (C, H, W) tensor: the user kept DefaultFormatBundle
        img = img.detach().cpu().numpy().transpose(1, 2, 0)
    arr = np.asarray(img)
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    return np.ascontiguousarray(np.clip(arr, 0, 255).astype(np.uint8))


def _draw(sample: Mapping[str, Any], classes: Any, palette: Any, min_size: int,
          skip_masks: bool) -> Any:
    import numpy as np

    from segdet.visualization import draw_instances, draw_semantic, upscale

    img, factor = upscale(_as_image(sample["img"]), min_size)

    def _grow(arr: Any) -> Any:
        arr = np.asarray(arr.detach().cpu() if hasattr(arr, "detach") else arr)
        return arr.repeat(factor, axis=-2).repeat(factor, axis=-1) if factor > 1 else arr

    if "gt_semantic_seg" in sample:
        seg = _grow(sample["gt_semantic_seg"])
        seg = seg.reshape(seg.shape[-2:])[: img.shape[0], : img.shape[1]]
        return draw_semantic(img, seg, classes, palette)
    boxes = np.asarray(sample.get("gt_bboxes", np.zeros((0, 4))), dtype=np.float64).reshape(-1, 4) * factor
    labels = np.asarray(sample.get("gt_labels", np.zeros(len(boxes))), dtype=np.int64)
    masks = None
    if "gt_masks" in sample and not skip_masks:
        masks = _grow(sample["gt_masks"])[:, : img.shape[0], : img.shape[1]]
    return draw_instances(img, boxes, labels, None, masks, classes)


@click.command("browse-dataset")
@click.argument("config", type=click.Path(dir_okay=False))
@click.option("--split", type=click.Choice(["train", "val", "test"]), default="train", show_default=True,
              help="Which data.<split> to browse (val/test load annotations as the train pipeline does).")
@click.option("--output-dir", default=None, type=click.Path(file_okay=False),
              help="Write the drawn images here, under their file names.")
@click.option("--not-show", is_flag=True, help="Do not open a window per image.")
@click.option("--skip-type", cls=GreedyOption, multiple=True, metavar="TYPE ...",
              help=f"Pipeline steps to leave out, added to {' '.join(DEFAULT_SKIP)}; e.g. RandomFlip "
                   "(and gt_masks: draw no instance masks).")
@click.option("--min-size", default=256, show_default=True, type=click.IntRange(0),
              help="Enlarge smaller images by a whole factor until their shorter side reaches this, "
                   "so names stay readable (0: never).")
@click.option("--max-images", default=0, type=click.IntRange(0), help="Stop after this many (0: all).")
@click.option("--show-interval", default=2.0, show_default=True, help="Seconds per image in the window.")
@cfg_options_option
def browse_dataset(config: str, split: str, output_dir: str | None, not_show: bool, skip_type: Sequence[str],
                   min_size: int, max_images: int, show_interval: float, cfg_options: Sequence[str]) -> None:
    """Write (and show) the images of a data split with their ground truth drawn: boxes with class
    names and translucent instance masks, or the semantic map in the data set's palette with a legend."""
    if not os.path.isfile(config):
        raise click.ClickException(f"{config}: no such config file")
    if not_show and not output_dir:
        raise click.ClickException("--not-show without --output-dir would draw nothing anyone sees; "
                                   "give --output-dir DIR")
    cfg = load_config(config, cfg_options)
    from tqdm import tqdm

    from segdet.data.builder import build_dataset
    from segdet.registry.local import import_custom_modules
    from segdet.visualization import write_image

    import_custom_modules(cfg.get("custom_imports"), source=config)
    skip = tuple(dict.fromkeys(DEFAULT_SKIP + tuple(skip_type)))
    dataset = build_dataset(_dataset_cfg(cfg, split, skip, config))
    classes = getattr(dataset, "CLASSES", None)
    palette = getattr(dataset, "PALETTE", None)
    total = len(dataset) if not max_images else min(max_images, len(dataset))
    window = not not_show
    written = 0
    for i in tqdm(range(total), desc=f"browse {split}", unit="img", disable=total < 2):
        sample = dataset[i]
        if sample is None:
            continue
        drawn = _draw(sample, classes, palette, min_size, "gt_masks" in skip)
        meta = sample.get("img_metas") or sample
        name = os.path.basename(str(meta.get("ori_filename") or meta.get("filename") or f"{i:06d}.png"))
        if output_dir:
            write_image(drawn, os.path.join(output_dir, os.path.splitext(name)[0] + ".png"))
            written += 1
        if window:
            window = _show(name, drawn, show_interval)
    if output_dir:
        click.echo(f"wrote {written} image(s) to {output_dir}")


def _show(name: str, img: Any, seconds: float) -> bool:
    """Show ``img`` in a window; False (and a note) when this OpenCV has no GUI."""
    import cv2

    try:
        cv2.imshow("segdet browse-dataset", img)
        cv2.setWindowTitle("segdet browse-dataset", name)
        cv2.waitKey(max(int(seconds * 1000), 1))
        return True
    except cv2.error:
        click.echo("no display (OpenCV without GUI support): images are not shown; use --output-dir and "
                   "--not-show", err=True)
        return False
