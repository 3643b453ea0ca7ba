"""What every detector shares: forward dispatch, train/val steps and loss parsing."""
from __future__ import annotations

import inspect
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from ...registry import build
from ..builder import build_downstream
from ..loss_parsing import parse_losses
from ..weights import load_pretrained

__all__ = ["BaseDetector", "parse_losses"]


def _accepted_keys(fn: Any) -> set[str] | None:
    params = inspect.signature(fn).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return None
    return set(params)


class BaseDetector(nn.Module):
    """Base of detectors.

    A subclass builds ``backbone``/``neck`` with :meth:`_build_backbone_and_neck` and implements
    ``forward_train``, ``simple_test`` and ``aug_test`` (see ``docs/CONTRACTS.md``). ``CLASSES`` is set by the runner from the dataset.
    """

    CLASSES: tuple[str, ...] | None = None

    @property
    def with_neck(self) -> bool:
        return getattr(self, "neck", None) is not None

    def extract_feat(self, img: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Backbone (and neck) features of a batch ``(B, 3, H, W)``."""
        x = self.backbone(img)
        if self.neck is not None:
            x = self.neck(x)
        return tuple(x)

    def forward_train(self, img: torch.Tensor, img_metas: list[dict[str, Any]],
                      gt_bboxes: list[torch.Tensor], gt_labels: list[torch.Tensor],
                      gt_bboxes_ignore: list[torch.Tensor] | None = None) -> dict[str, Any]:  # pragma: no cover
        raise NotImplementedError

    def simple_test(self, img: torch.Tensor, img_metas: list[dict[str, Any]],
                    rescale: bool = True) -> list[Any]:  # pragma: no cover
        raise NotImplementedError

    def aug_test(self, imgs: list[torch.Tensor], img_metas: list[list[dict[str, Any]]],
                 rescale: bool = True) -> list[Any]:  # pragma: no cover
        raise NotImplementedError

    def forward_test(self, imgs: torch.Tensor | Sequence[torch.Tensor],
                     img_metas: list[dict[str, Any]] | list[list[dict[str, Any]]],
                     rescale: bool = True) -> list[Any]:
        """Dispatch to ``simple_test`` (one augmentation) or ``aug_test`` (several).

        Args:
            imgs: a batch ``(B, 3, H, W)`` or a list (per augmentation) of batches.
            img_metas: the batch's metas, or a list (per augmentation) of them.
        """
        if isinstance(imgs, torch.Tensor):
            return self.simple_test(imgs, img_metas, rescale=rescale)  # type: ignore[arg-type]
        if not isinstance(imgs, (list, tuple)) or not isinstance(img_metas, (list, tuple)):
            raise TypeError(f"imgs must be a Tensor or a list of Tensors, got {type(imgs).__name__}")
        if len(imgs) != len(img_metas):
            raise ValueError(f"{len(imgs)} augmentations of images but {len(img_metas)} of img_metas")
        for img, metas in zip(imgs, img_metas):
            if len(metas) != img.shape[0]:  # type: ignore[arg-type]
                raise ValueError(f"a batch of {img.shape[0]} images comes with {len(metas)} metas")
        if len(imgs) == 1:
            return self.simple_test(imgs[0], img_metas[0], rescale=rescale)  # type: ignore[arg-type]
        return self.aug_test(list(imgs), img_metas, rescale=rescale)  # type: ignore[arg-type]

    def forward(self, img: Any, img_metas: Any, return_loss: bool = True, **kwargs: Any) -> Any:
        """``forward_train`` when ``return_loss`` else ``forward_test``."""
        if return_loss:
            return self.forward_train(img, img_metas, **kwargs)
        return self.forward_test(img, img_metas, **kwargs)

    def _build_backbone_and_neck(self, backbone: Mapping[str, Any], neck: Mapping[str, Any] | None,
                                 pretrained: str | None) -> nn.Module:
        """Build ``self.backbone`` and ``self.neck`` (``in_channels`` from the backbone); return the
        module the heads read from. The deprecated ``pretrained`` becomes the backbone's ``init_cfg``."""
        if pretrained:
            warnings.warn(f"{type(self).__name__}: 'pretrained' is deprecated; use backbone.init_cfg="
                          "dict(type='Pretrained', checkpoint=...)", DeprecationWarning, stacklevel=3)
            backbone = {**dict(backbone), "init_cfg": {"type": "Pretrained", "checkpoint": pretrained}}
        self.backbone = build(backbone, "backbones")
        self.neck = build_downstream(neck, "necks", self.backbone) if neck is not None else None
        return self.neck if self.neck is not None else self.backbone

    def _init_parts(self, *parts: nn.Module | None) -> None:
        """``init_weights()`` of every part, then, for ``init_cfg=dict(type='Pretrained', checkpoint=...)``,
        the whole-detector checkpoint."""
        for part in parts:
            init = getattr(part, "init_weights", None)
            if callable(init):
                init()
        init_cfg: Mapping[str, Any] | None = getattr(self, "init_cfg", None)
        if init_cfg is not None and init_cfg.get("type") == "Pretrained":
            load_pretrained(self, str(init_cfg["checkpoint"]), prefix=init_cfg.get("prefix"))

    def _step(self, data: Mapping[str, Any]) -> dict[str, Any]:
        # Batches may carry keys this detector does not train on (e.g. gt_masks).
        accepted = _accepted_keys(self.forward_train)
        if accepted is not None:
            data = {k: v for k, v in data.items() if k in accepted or k == "img_metas"}
        losses = self(**data)
        loss, log_vars = parse_losses(losses)
        return {"loss": loss, "log_vars": log_vars, "num_samples": len(data["img_metas"])}

    def train_step(self, data: Mapping[str, Any], optimizer: Any = None) -> dict[str, Any]:
        """One training iteration's forward: ``dict(loss, log_vars, num_samples)``.

        The backward pass and the optimizer step belong to the runner's optimizer hook.
        """
        return self._step(data)

    def val_step(self, data: Mapping[str, Any], optimizer: Any = None) -> dict[str, Any]:
        """Like ``train_step``, for validation losses."""
        return self._step(data)
