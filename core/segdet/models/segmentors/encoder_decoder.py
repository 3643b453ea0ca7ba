"""Encoder-decoder segmentor: backbone (+ neck) -> decode head (+ auxiliary heads)."""
from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any, Callable, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from ...errors import ConfigError
from ...registry import build, describe_location, resolve
from ...registry.slots import Slot
from ..builder import build_downstream
from ..decode_heads import class_map, resize
from ..loss_parsing import parse_losses

__all__ = ["EncoderDecoder"]

_MODES = ("whole", "slide")


def _get(cfg: Mapping[str, Any] | None, key: str, default: Any = None) -> Any:
    return cfg.get(key, default) if cfg is not None else default


def _pair(value: Any, name: str) -> tuple[int, int]:
    if isinstance(value, int):
        return value, value
    if isinstance(value, Sequence) and len(value) == 2:
        return int(value[0]), int(value[1])
    raise ConfigError(f"test_cfg.{name} must be an int or a pair (h, w), got {value!r}")


def _head_select(cfg: Mapping[str, Any]) -> Callable[[list[int]], Any]:
    """Map upstream channels to what a decode head with this config takes (its ``in_index``
    and ``input_transform``, from the config or else the head's defaults)."""
    kind = cfg.get("type")
    if kind is None:  # build() reports the missing type with its location
        return lambda channels: channels
    head_cls = resolve(kind, "heads", describe_location(cfg)) if isinstance(kind, str) else kind
    try:
        params = inspect.signature(head_cls).parameters
    except (TypeError, ValueError):
        params = {}  # type: ignore[assignment]

    def default(name: str, fallback: Any) -> Any:
        if name in cfg:
            return cfg[name]
        p = params.get(name)
        return p.default if p is not None and p.default is not inspect.Parameter.empty else fallback

    index = default("in_index", -1)
    transform = default("input_transform", None)

    def select(channels: list[int]) -> Any:
        try:
            if transform is None and isinstance(index, int):
                return channels[index]
            indices = [index] if isinstance(index, int) else list(index)
            return [channels[i] for i in indices]
        except IndexError:
            raise ConfigError(
                f"head in_index={index!r} is out of range: upstream produces {len(channels)} maps "
                f"with channels {channels}"
            ) from None

    return select


def _with_pretrained(cfg: Mapping[str, Any], pretrained: str | None) -> Mapping[str, Any]:
    """The backbone config with ``init_cfg=dict(type='Pretrained', checkpoint=pretrained)`` (MMSegmentation's
    ``model.pretrained``); the backbone reads it in its ``init_weights``."""
    if pretrained is None:
        return cfg
    kind = cfg.get("type")
    cls: Any = resolve(kind, "backbones", describe_location(cfg)) if isinstance(kind, str) else kind
    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        params = {}  # type: ignore[assignment]
    if "init_cfg" not in params:
        raise ConfigError(f"model.pretrained={pretrained!r} is set, but backbone {kind!r} takes no init_cfg; "
                          "remove model.pretrained")
    if cfg.get("init_cfg") is not None:
        raise ConfigError("give model.pretrained or model.backbone.init_cfg, not both")
    return {**cfg, "init_cfg": {"type": "Pretrained", "checkpoint": pretrained}}


def _add_prefix(losses: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    return {f"{prefix}.{k}": v for k, v in losses.items()}


class EncoderDecoder(nn.Module):
    """Encoder-decoder segmentor in MMSegmentation's form.

    Args:
        backbone: backbone config (group ``backbones``).
        decode_head: decode head config (group ``heads``); its ``in_channels`` are taken from
            upstream (neck or backbone) when left out, and checked against them when given.
        neck: optional neck config (group ``necks``).
        auxiliary_head: optional head config, or a list of them, trained on the same features and
            dropped at test time.
        train_cfg: passed to the heads' ``forward_train``.
        test_cfg: ``dict(mode='whole')`` (default) or ``dict(mode='slide', crop_size=(h, w),
            stride=(h, w))``: sliding-window inference averaging overlapping windows.
        pretrained: backbone checkpoint, given to the backbone as
            ``init_cfg=dict(type='Pretrained', checkpoint=pretrained)`` and loaded by :meth:`init_weights`.
        init_cfg: kept for MMSegmentation configs.

    Shapes:
        ``forward_train(img (N,3,H,W), img_metas, gt_semantic_seg (N,1,H,W))`` -> dict of losses
        (``decode.loss_ce``, ``decode.acc_seg``, ``aux.loss_ce``, ...);
        ``simple_test`` / ``aug_test`` -> list (per image) of long Tensors (H0, W0) at ``ori_shape``.
    """

    slots: ClassVar[dict[str, Slot]] = {
        "backbone": Slot("backbones", optional=False),
        "neck": Slot("necks", fills=("in_channels",)),
        "decode_head": Slot("heads", fills=("in_channels",), optional=False),
        "auxiliary_head": Slot("heads", fills=("in_channels",)),
    }

    def __init__(
        self,
        backbone: Mapping[str, Any],
        decode_head: Mapping[str, Any],
        neck: Mapping[str, Any] | None = None,
        auxiliary_head: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
        train_cfg: Mapping[str, Any] | None = None,
        test_cfg: Mapping[str, Any] | None = None,
        pretrained: str | None = None,
        init_cfg: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        super().__init__()
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg if test_cfg is not None else {"mode": "whole"}
        self.init_cfg = init_cfg
        self.pretrained = pretrained
        mode = _get(self.test_cfg, "mode", "whole")
        if mode not in _MODES:
            raise ConfigError(f"model.test_cfg.mode must be one of {_MODES}, got {mode!r}")
        if mode == "slide" and (_get(self.test_cfg, "crop_size") is None or _get(self.test_cfg, "stride") is None):
            raise ConfigError("model.test_cfg with mode='slide' needs crop_size=(h, w) and stride=(h, w)")

        self.backbone = build(_with_pretrained(backbone, pretrained), "backbones")
        self.neck = self._build_child(neck, "necks", self.backbone, None) if neck is not None else None
        upstream = self.neck if self.neck is not None else self.backbone
        self.decode_head = self._build_child(decode_head, "heads", upstream, _head_select(decode_head))
        self.align_corners = bool(getattr(self.decode_head, "align_corners", False))
        self.num_classes = int(self.decode_head.num_classes)

        self.auxiliary_head: nn.Module | None = None
        if isinstance(auxiliary_head, Mapping):
            self.auxiliary_head = self._build_child(auxiliary_head, "heads", upstream, _head_select(auxiliary_head))
        elif auxiliary_head:
            self.auxiliary_head = nn.ModuleList(
                self._build_child(cfg, "heads", upstream, _head_select(cfg)) for cfg in auxiliary_head
            )
        self.CLASSES: Sequence[str] | None = None
        self.PALETTE: Any = None

    # ----------------------------------------------------------------- build
    @staticmethod
    def _build_child(cfg: Mapping[str, Any], group: str, upstream: nn.Module,
                     select: Callable[[list[int]], Any] | None) -> Any:
        if getattr(upstream, "out_channels", None) is None:
            return build(cfg, group)
        return build_downstream(cfg, group, upstream, key="in_channels", select=select)

    def init_weights(self) -> None:
        """Initialise children that define ``init_weights`` (the backbone loads ``pretrained`` there).

        Called by training before the first iteration, never at construction: building a model for
        testing or inference reads no pretrained file.
        """
        for child in (self.backbone, self.neck, self.decode_head, self.auxiliary_head):
            fn = getattr(child, "init_weights", None)
            if callable(fn):
                fn()

    @property
    def with_neck(self) -> bool:
        return self.neck is not None

    @property
    def with_auxiliary_head(self) -> bool:
        return self.auxiliary_head is not None

    # ----------------------------------------------------------------- train
    def extract_feat(self, img: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Backbone (+ neck) feature maps of a batch (N, 3, H, W)."""
        x = self.backbone(img)
        if self.neck is not None:
            x = self.neck(x)
        return tuple(x) if isinstance(x, (list, tuple)) else (x,)

    def encode_decode(self, img: torch.Tensor, img_metas: Sequence[Mapping[str, Any]]) -> torch.Tensor:
        """Decode-head logits resized to the input size: (N, num_classes, H, W)."""
        x = self.extract_feat(img)
        out = self.decode_head.forward_test(x, img_metas, self.test_cfg)
        return resize(out, img.shape[2:], "bilinear", self.align_corners)

    def forward_train(self, img: torch.Tensor, img_metas: Sequence[Mapping[str, Any]],
                      gt_semantic_seg: torch.Tensor) -> dict[str, torch.Tensor]:
        """Losses of the decode head(s) (``decode.*``) and auxiliary heads (``aux.*`` / ``aux_<i>.*``)."""
        x = self.extract_feat(img)
        losses = self._decode_head_forward_train(x, img_metas, gt_semantic_seg)
        losses.update(self._auxiliary_head_forward_train(x, img_metas, gt_semantic_seg))
        return losses

    def _decode_head_forward_train(self, x: tuple[torch.Tensor, ...], img_metas: Sequence[Mapping[str, Any]],
                                   gt_semantic_seg: torch.Tensor) -> dict[str, torch.Tensor]:
        return _add_prefix(self.decode_head.forward_train(x, img_metas, gt_semantic_seg, self.train_cfg), "decode")

    def _auxiliary_head_forward_train(self, x: tuple[torch.Tensor, ...], img_metas: Sequence[Mapping[str, Any]],
                                      gt_semantic_seg: torch.Tensor) -> dict[str, torch.Tensor]:
        losses: dict[str, torch.Tensor] = {}
        aux: Any = self.auxiliary_head
        if isinstance(aux, nn.ModuleList):
            for i, head in enumerate(list(aux)):
                head_: Any = head
                losses.update(_add_prefix(head_.forward_train(x, img_metas, gt_semantic_seg, self.train_cfg),
                                          f"aux_{i}"))
        elif aux is not None:
            losses.update(_add_prefix(aux.forward_train(x, img_metas, gt_semantic_seg, self.train_cfg), "aux"))
        return losses

    # ----------------------------------------------------------------- test
    def slide_inference(self, img: torch.Tensor, img_metas: Sequence[Mapping[str, Any]]) -> torch.Tensor:
        """Logits (N, C, H, W) averaged over overlapping ``crop_size`` windows every ``stride``."""
        h_stride, w_stride = _pair(_get(self.test_cfg, "stride"), "stride")
        h_crop, w_crop = _pair(_get(self.test_cfg, "crop_size"), "crop_size")
        n, _, h_img, w_img = img.shape
        h_grids = max(h_img - h_crop + h_stride - 1, 0) // h_stride + 1
        w_grids = max(w_img - w_crop + w_stride - 1, 0) // w_stride + 1
        logits = img.new_zeros((n, self.num_classes, h_img, w_img))
        count = img.new_zeros((n, 1, h_img, w_img))
        for h_idx in range(h_grids):
            for w_idx in range(w_grids):
                y2 = min(h_idx * h_stride + h_crop, h_img)
                x2 = min(w_idx * w_stride + w_crop, w_img)
                y1, x1 = max(y2 - h_crop, 0), max(x2 - w_crop, 0)
                crop_logit = self.encode_decode(img[:, :, y1:y2, x1:x2], img_metas)
                logits[:, :, y1:y2, x1:x2] += crop_logit
                count[:, :, y1:y2, x1:x2] += 1
        assert bool((count > 0).all()), "sliding windows must cover the image"
        return logits / count

    def _restore(self, logit: torch.Tensor, meta: Mapping[str, Any], rescale: bool) -> torch.Tensor:
        """One image's (C, Hp, Wp) map: crop the padding, resize to ``ori_shape``, undo the flip."""
        img_shape = meta.get("img_shape")
        if img_shape is not None:
            logit = logit[:, : int(img_shape[0]), : int(img_shape[1])]
        if rescale and meta.get("ori_shape") is not None:
            ori = meta["ori_shape"]
            logit = resize(logit[None], (int(ori[0]), int(ori[1])), "bilinear", self.align_corners)[0]
        if meta.get("flip", False):
            direction = meta.get("flip_direction") or "horizontal"
            dims = {"horizontal": [2], "vertical": [1], "diagonal": [1, 2]}.get(direction)
            if dims is None:
                raise ValueError(f"unknown flip_direction {direction!r} in img_metas")
            logit = logit.flip(dims=dims)
        return logit

    def inference(self, img: torch.Tensor, img_metas: Sequence[Mapping[str, Any]],
                  rescale: bool = True) -> list[torch.Tensor]:
        """Per image class probabilities (C, H, W): softmax of the logits, at ``ori_shape`` when
        ``rescale`` (else at ``img_shape``), flips undone."""
        if _get(self.test_cfg, "mode", "whole") == "slide":
            logits = self.slide_inference(img, img_metas)
        else:
            logits = self.encode_decode(img, img_metas)
        probs = F.softmax(logits, dim=1)
        return [self._restore(probs[i], img_metas[i], rescale) for i in range(probs.shape[0])]

    def simple_test(self, img: torch.Tensor, img_metas: Sequence[Mapping[str, Any]],
                    rescale: bool = True) -> list[torch.Tensor]:
        """Per image a long Tensor (H, W) of class indices."""
        return [class_map(p, dim=0) for p in self.inference(img, img_metas, rescale)]

    def aug_test(self, imgs: Sequence[torch.Tensor], img_metas: Sequence[Sequence[Mapping[str, Any]]],
                 rescale: bool = True) -> list[torch.Tensor]:
        """Average the probabilities of every augmentation (scales, flips), then take the argmax.

        ``imgs[k]`` is the batch (N, 3, H_k, W_k) of augmentation ``k``; ``rescale`` must be True, as
        augmentations only agree at the original size.
        """
        if not rescale:
            raise ValueError("aug_test needs rescale=True: augmented outputs are merged at ori_shape")
        total: list[torch.Tensor] | None = None
        for img, metas in zip(imgs, img_metas):
            probs = self.inference(img, metas, rescale=True)
            total = probs if total is None else [t + p for t, p in zip(total, probs)]
        assert total is not None, "aug_test got no augmentation"
        return [class_map(t / len(imgs), dim=0) for t in total]

    def forward_test(self, img: torch.Tensor | Sequence[torch.Tensor], img_metas: Any,
                     rescale: bool = True) -> list[torch.Tensor]:
        """Test a batch (Tensor + list of metas) or augmented batches (lists per augmentation)."""
        if isinstance(img, torch.Tensor):
            return self.simple_test(img, img_metas, rescale)
        if len(img) != len(img_metas):
            raise ValueError(f"got {len(img)} augmentations of img but {len(img_metas)} of img_metas")
        if len(img) == 1:
            return self.simple_test(img[0], img_metas[0], rescale)
        return self.aug_test(img, img_metas, rescale)

    def forward(self, img: Any, img_metas: Any, return_loss: bool = True, **kwargs: Any) -> Any:
        """``forward_train`` when ``return_loss`` (kwargs: ``gt_semantic_seg``), else ``forward_test``."""
        if return_loss:
            return self.forward_train(img, img_metas, **kwargs)
        return self.forward_test(img, img_metas, **kwargs)

    # ----------------------------------------------------------------- runner API
    def train_step(self, data: Mapping[str, Any], optimizer: Any = None) -> dict[str, Any]:
        """``dict(loss, log_vars, num_samples)`` for one batch; the optimizer hook steps."""
        loss, log_vars = parse_losses(self(**data))
        return {"loss": loss, "log_vars": log_vars, "num_samples": len(data["img_metas"])}

    def val_step(self, data: Mapping[str, Any], optimizer: Any = None) -> dict[str, Any]:
        """Losses on a validation batch, in the form of :meth:`train_step`."""
        loss, log_vars = parse_losses(self(**data))
        return {"loss": loss, "log_vars": log_vars, "num_samples": len(data["img_metas"])}
