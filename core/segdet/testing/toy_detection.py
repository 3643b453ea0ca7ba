"""A tiny detector and data set, registered in-process when this module is imported.

For engine, CLI and hook tests that need a whole training run in seconds. A config uses them with
``custom_imports=dict(imports=['segdet.testing.toy_detection'])`` and ``toy_config(work_dir)``
gives a complete one::

    from segdet.testing.toy_detection import toy_config
    cfg = toy_config(str(tmp_path), runner=dict(type='EpochBasedRunner', max_epochs=1))
"""
from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import DataFileNotFoundError
from ..models.detectors.base import parse_losses
from ..registry.local import register

__all__ = ["ToyDataset", "ToyDetector", "parse_losses", "toy_config"]


class _Head(nn.Module):
    def __init__(self, in_channels: int, num_classes: int) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.fc = nn.Linear(in_channels, num_classes + 4)


@register("detectors", force=True)
class ToyDetector(nn.Module):
    """conv -> BN -> ReLU -> global pool -> linear predicting one box and a class per image."""

    def __init__(self, num_classes: int = 3, width: int = 8, nan_at_iter: int | None = None,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, width, 3, padding=1)
        self.bn = nn.BatchNorm2d(width)
        self.drop = nn.Dropout(dropout)
        self.bbox_head = _Head(width, num_classes)
        self.num_classes = num_classes
        self.nan_at_iter = nan_at_iter
        self._calls = 0

    def _predict(self, img: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.relu(self.bn(self.conv(img)))
        x = self.drop(x.mean(dim=(2, 3)))
        out = self.bbox_head.fc(x)
        return out[:, : self.num_classes], torch.sigmoid(out[:, self.num_classes:])

    def forward_train(self, img: torch.Tensor, img_metas: list[dict], gt_bboxes: list[torch.Tensor],
                      gt_labels: list[torch.Tensor], gt_bboxes_ignore: Any = None) -> dict[str, torch.Tensor]:
        logits, boxes = self._predict(img)
        h, w = img.shape[-2:]
        scale = img.new_tensor([w, h, w, h])
        target_boxes = torch.stack([b[0] / scale for b in gt_bboxes])
        target_labels = torch.stack([lab[0] for lab in gt_labels])
        loss_bbox = torch.abs(boxes.float() - target_boxes).mean()
        self._calls += 1
        if self.nan_at_iter is not None and self._calls == self.nan_at_iter:
            loss_bbox = loss_bbox * float("nan")
        return dict(loss_cls=nn.functional.cross_entropy(logits.float(), target_labels), loss_bbox=loss_bbox)

    def simple_test(self, img: torch.Tensor, img_metas: list[dict], rescale: bool = True) -> list[dict]:
        logits, boxes = self._predict(img)
        scores, labels = logits.float().softmax(-1).max(-1)
        results = []
        for i, meta in enumerate(img_metas):
            h, w = meta["ori_shape"][:2] if rescale else img.shape[-2:]
            box = boxes[i].float() * boxes.new_tensor([w, h, w, h]).float()
            if meta.get("flip"):
                box = torch.stack([w - box[2], box[1], w - box[0], box[3]])
            results.append(dict(bboxes=box[None], scores=scores[i:i + 1], labels=labels[i:i + 1]))
        return results

    def aug_test(self, imgs: list[torch.Tensor], img_metas: list[list[dict]], rescale: bool = True) -> list[dict]:
        per_aug = [self.simple_test(im, metas, rescale) for im, metas in zip(imgs, img_metas)]
        merged = []
        for i in range(len(per_aug[0])):
            merged.append({k: torch.stack([r[i][k] for r in per_aug]).float().mean(0).to(per_aug[0][i][k].dtype)
                           for k in ("bboxes", "scores", "labels")})
        return merged

    def forward(self, img: Any, img_metas: Any, return_loss: bool = True, **kwargs: Any) -> Any:
        if return_loss:
            return self.forward_train(img, img_metas, **kwargs)
        if isinstance(img, list):
            if len(img) == 1:
                return self.simple_test(img[0], img_metas[0], **kwargs)
            return self.aug_test(img, img_metas, **kwargs)
        return self.simple_test(img, img_metas, **kwargs)

    def train_step(self, data: dict, optimizer: Any = None) -> dict[str, Any]:
        loss, log_vars = parse_losses(self(**data))
        return dict(loss=loss, log_vars=log_vars, num_samples=len(data["img_metas"]))

    def val_step(self, data: dict, optimizer: Any = None) -> dict[str, Any]:
        return self.train_step(data, optimizer)


def _sample(index: int, seed: int, size: int, num_classes: int) -> tuple[np.ndarray, np.ndarray, int]:
    rng = np.random.default_rng(seed * 100003 + index)
    label = int(rng.integers(num_classes))
    img = rng.normal(0, 0.1, size=(3, size, size)).astype(np.float32)
    x1, y1 = (int(v) for v in rng.integers(0, size // 2, size=2))
    x2, y2 = x1 + size // 4 + label * 2, y1 + size // 4 + label * 2
    img[label, y1:y2, x1:x2] += 1.0
    return img, np.array([x1, y1, x2, y2], dtype=np.float32), label


@register("datasets", force=True)
class ToyDataset(torch.utils.data.Dataset):
    """``num`` images of ``size``x``size`` with one coloured square whose channel is its class.

    ``pipeline`` is read only for a ``MultiScaleFlipAug`` step (``flip=True`` adds flipped copies),
    so test-time augmentation can be exercised. ``ann_file`` must exist when given.
    """

    CLASSES = ("red", "green", "blue")

    def __init__(self, num: int = 16, size: int = 32, seed: int = 0, test_mode: bool = False,
                 pipeline: list | None = None, ann_file: str | None = None,
                 classes: tuple | None = None, augment: bool = False) -> None:
        if ann_file is not None and not os.path.isfile(ann_file):
            raise DataFileNotFoundError(f"ToyDataset: ann_file {ann_file!r} does not exist")
        self.size, self.seed, self.test_mode, self.augment = size, seed, test_mode, augment
        self.data_infos = list(range(num))  # per-image list, so `segdet train --debug` can cut it
        if classes is not None:
            self.CLASSES = tuple(classes)
        self.flip = False
        for step in pipeline or []:
            if step.get("type") == "MultiScaleFlipAug":
                self.flip = bool(step.get("flip", False))

    def __len__(self) -> int:
        return len(self.data_infos)

    def __getitem__(self, index: int) -> dict[str, Any]:
        img, box, label = _sample(self.data_infos[index], self.seed, self.size, len(self.CLASSES))
        meta = dict(filename=f"toy_{index}.png", ori_filename=f"toy_{index}.png",
                    ori_shape=(self.size, self.size, 3), img_shape=(self.size, self.size, 3),
                    pad_shape=(self.size, self.size, 3), scale_factor=np.ones(4, np.float32), flip=False,
                    flip_direction=None)
        if self.augment:  # random per call, from the (worker's) global NumPy generator
            img = img + np.random.normal(0, 0.05, size=img.shape).astype(np.float32)
        tensor = torch.from_numpy(img)
        if self.test_mode:
            imgs, metas = [tensor], [meta]
            if self.flip:
                imgs.append(tensor.flip(-1))
                metas.append(dict(meta, flip=True, flip_direction="horizontal"))
            return dict(img=imgs, img_metas=metas)
        return dict(img=tensor, img_metas=meta, gt_bboxes=torch.from_numpy(box)[None],
                    gt_labels=torch.tensor([label]))

    def evaluate(self, results: list[dict], metric: Any = "bbox", logger: Any = None,
                 classwise: bool = False) -> dict[str, float]:
        """``bbox_mAP``: mean IoU with the true box when the class is right; ``bbox_mAP_50``: share above 0.5."""
        if len(results) != len(self):
            raise ValueError(f"{len(results)} results for {len(self)} images")
        ious = []
        for i, res in zip(self.data_infos, results):
            _, box, label = _sample(i, self.seed, self.size, len(self.CLASSES))
            pred = res["bboxes"][0].tolist()
            ix = max(0.0, min(pred[2], box[2]) - max(pred[0], box[0]))
            iy = max(0.0, min(pred[3], box[3]) - max(pred[1], box[1]))
            inter = ix * iy
            union = (pred[2] - pred[0]) * (pred[3] - pred[1]) + (box[2] - box[0]) * (box[3] - box[1]) - inter
            iou = inter / union if union > 0 else 0.0
            ious.append(iou if int(res["labels"][0]) == label else 0.0)
        out = {"bbox_mAP": float(np.mean(ious)), "bbox_mAP_50": float(np.mean([v > 0.5 for v in ious]))}
        if classwise:
            out["bbox_mAP_red"] = out["bbox_mAP"]
        return out


def toy_config(work_dir: str, **overrides: Any) -> dict[str, Any]:
    """A complete plain-dict config training the toy detector on CPU."""
    cfg: dict[str, Any] = dict(
        model=dict(type="ToyDetector", num_classes=3, width=8),
        data=dict(samples_per_gpu=2, workers_per_gpu=0,
                  train=dict(type="ToyDataset", num=8, seed=0),
                  val=dict(type="ToyDataset", num=4, seed=1),
                  test=dict(type="ToyDataset", num=4, seed=1)),
        optimizer=dict(type="SGD", lr=0.05, momentum=0.9, weight_decay=1e-4),
        optimizer_config=dict(grad_clip=None),
        lr_config=dict(policy="step", step=[3]),
        runner=dict(type="EpochBasedRunner", max_epochs=2),
        checkpoint_config=dict(interval=1),
        log_config=dict(interval=2, hooks=[dict(type="TextLoggerHook")]),
        evaluation=dict(interval=1, metric="bbox"),
        workflow=[("train", 1)],
        work_dir=work_dir,
        seed=0,
    )
    cfg.update(overrides)
    return cfg
