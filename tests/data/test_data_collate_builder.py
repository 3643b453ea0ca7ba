"""collate (padding, batch_input_shape, seg 255, test-time lists), build_dataset, loaders."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from segdet.data.builder import build_dataloader, build_dataset
from segdet.data.collate import collate
from segdet.data.datasets.wrappers import ConcatDataset, RepeatDataset
from segdet.data.shapes import make_shapes


def _sample(h: int, w: int, k: int = 1) -> dict:
    return dict(img=torch.ones(3, h, w), img_metas=dict(img_shape=(h, w, 3), pad_shape=(h, w, 3)),
                gt_bboxes=torch.zeros(k, 4), gt_labels=torch.zeros(k, dtype=torch.long),
                gt_semantic_seg=torch.zeros(1, h, w, dtype=torch.long))


def test_collate_pads_to_the_largest_image() -> None:
    batch = collate([_sample(32, 64, 2), _sample(64, 32, 0)])
    assert batch["img"].shape == (2, 3, 64, 64)
    assert batch["img"][0, :, 32:].abs().sum() == 0 and batch["img"][0, :, :32, :].min() == 1
    assert batch["img"][1, :, :, 32:].abs().sum() == 0
    seg = batch["gt_semantic_seg"]
    assert seg.shape == (2, 1, 64, 64) and seg.dtype == torch.long
    assert (seg[0, :, 32:] == 255).all() and (seg[0, :, :32] == 0).all() and (seg[1, :, :, 32:] == 255).all()
    assert [m["batch_input_shape"] for m in batch["img_metas"]] == [(64, 64), (64, 64)]
    assert batch["img_metas"][0]["pad_shape"] == (32, 64, 3)  # the per-image pad is kept
    assert [b.shape for b in batch["gt_bboxes"]] == [(2, 4), (0, 4)]
    assert isinstance(batch["gt_labels"], list) and len(batch["gt_labels"]) == 2


def test_collate_same_size_stacks() -> None:
    batch = collate([_sample(8, 8), _sample(8, 8)])
    assert batch["img"].shape == (2, 3, 8, 8)


def test_collate_test_time_lists() -> None:
    def aug_sample(h: int, w: int) -> dict:
        return dict(img=[torch.ones(3, h, w), torch.ones(3, 2 * h, 2 * w)],
                    img_metas=[dict(flip=False), dict(flip=True)])

    batch = collate([aug_sample(4, 8), aug_sample(8, 4)])
    assert [tuple(i.shape) for i in batch["img"]] == [(2, 3, 8, 8), (2, 3, 16, 16)]
    assert len(batch["img_metas"]) == 2 and all(len(m) == 2 for m in batch["img_metas"])
    assert [m["flip"] for m in batch["img_metas"][1]] == [True, True]
    assert batch["img_metas"][1][0]["batch_input_shape"] == (16, 16)


def test_collate_empty_batch() -> None:
    with pytest.raises(ValueError, match="empty"):
        collate([])


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("shapes_loader")
    make_shapes(root, seed=0, num_train=8, num_val=4)
    return root


def _cfg(root: Path, **kwargs: object) -> dict:
    cfg: dict = dict(
        type="CocoDataset", data_root=str(root), ann_file="annotations/instances_train.json",
        img_prefix="images/train", classes=("circle", "square", "triangle"),
        pipeline=[dict(type="LoadImageFromFile"), dict(type="LoadAnnotations"),
                  dict(type="Resize", img_scale=[(48, 48), (64, 64)], multiscale_mode="value"),
                  dict(type="RandomFlip", flip_ratio=0.5),
                  dict(type="PhotoMetricDistortion"),
                  dict(type="Normalize", mean=[0, 0, 0], std=[1, 1, 1]),
                  dict(type="Pad", size_divisor=32), dict(type="DefaultFormatBundle"),
                  dict(type="Collect", keys=["img", "gt_bboxes", "gt_labels"])])
    cfg.update(kwargs)
    return cfg


def test_build_dataset_with_classes_subset(shapes: Path) -> None:
    ds = build_dataset(_cfg(shapes, classes=("square",)))
    assert ds.CLASSES == ("square",)
    assert all(set(ds.get_ann_info(i)["labels"].tolist()) == {0} for i in range(len(ds)))
    full = build_dataset(_cfg(shapes))
    assert len(ds) <= len(full) == 8


def test_build_dataset_default_args(shapes: Path) -> None:
    cfg = _cfg(shapes)
    del cfg["classes"]
    assert build_dataset(cfg, default_args=dict(classes=("circle",))).CLASSES == ("circle",)


def test_repeat_and_concat(shapes: Path) -> None:
    rep = build_dataset(dict(type="RepeatDataset", times=3, dataset=_cfg(shapes)))
    assert isinstance(rep, RepeatDataset) and len(rep) == 24 and rep.CLASSES == ("circle", "square", "triangle")
    np.random.seed(0)
    assert rep[9]["img_metas"]["ori_filename"] == rep.dataset.data_infos[1]["filename"]
    cat = build_dataset([_cfg(shapes), _cfg(shapes, classes=("square",))])
    assert isinstance(cat, ConcatDataset) and len(cat) == 8 + len(cat.datasets[1])
    assert cat[8]["img_metas"]["ori_filename"] == cat.datasets[1].data_infos[0]["filename"]
    cat2 = build_dataset(dict(type="ConcatDataset", datasets=[_cfg(shapes), _cfg(shapes)]))
    assert len(cat2) == 16 and cat2.CLASSES == ("circle", "square", "triangle")
    with pytest.raises(ValueError, match="times"):
        RepeatDataset(cat2, times=0)


def _epochs(ds: object, seed: int, epochs: int = 2) -> list[list[tuple[str, bool, tuple, float]]]:
    loader = build_dataloader(ds, samples_per_gpu=2, workers_per_gpu=2, seed=seed, shuffle=True)
    out = []
    for epoch in range(epochs):
        loader.sampler.set_epoch(epoch)
        items = []
        for batch in loader:
            assert batch["img"].shape[0] == 2 and batch["img"].shape[-1] % 32 == 0
            for m, img in zip(batch["img_metas"], batch["img"]):
                items.append((m["ori_filename"], m["flip"], m["img_shape"], float(img.sum())))
        out.append(items)
    return out


@pytest.mark.slow
def test_seeded_loader_is_reproducible_and_reshuffles(shapes: Path) -> None:
    ds = build_dataset(_cfg(shapes))
    first, second = _epochs(ds, seed=3), _epochs(ds, seed=3)
    assert first == second  # same order, same random flips, scales and colour jitter
    names = [[name for name, *_ in epoch] for epoch in first]
    assert sorted(names[0]) == sorted(names[1]) and names[0] != names[1]  # set_epoch reshuffles
    other = _epochs(ds, seed=4, epochs=1)
    assert [n for n, *_ in other[0]] != names[0]


def test_sampler_shards_and_pads() -> None:
    from segdet.data.samplers import EpochSeededSampler

    parts = [list(EpochSeededSampler(range(5), shuffle=True, seed=1, rank=r, world_size=2)) for r in range(2)]
    assert len(parts[0]) == len(parts[1]) == 3
    assert set(parts[0]) | set(parts[1]) == set(range(5))
    assert list(EpochSeededSampler(range(4), shuffle=False)) == [0, 1, 2, 3]


@pytest.mark.slow
def test_seeded_loader_new_augmentations_each_epoch(shapes: Path) -> None:
    ds = build_dataset(_cfg(shapes))

    def run() -> list[list[tuple]]:
        loader = build_dataloader(ds, samples_per_gpu=2, workers_per_gpu=2, seed=7, shuffle=False)
        epochs = []
        for epoch in range(2):
            loader.sampler.set_epoch(epoch)
            epochs.append([(m["flip"], m["img_shape"], float(img.sum()))
                           for b in loader for m, img in zip(b["img_metas"], b["img"])])
        return epochs

    first = run()
    assert first == run()
    assert first[0] != first[1]  # same images in the same order, but drawn augmentations differ
