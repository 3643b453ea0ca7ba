"""Base class of semantic-segmentation decode heads (part of the plugin API).

A decode head turns a backbone's (or neck's) feature maps into per-pixel class
logits and computes its own losses. Parameter names follow MMSegmentation
(``conv_seg``, ``dropout``), so MMSegmentation checkpoints load strictly.

Subclasses implement :meth:`BaseDecodeHead.forward` and usually call
:meth:`BaseDecodeHead._transform_inputs` first and :meth:`BaseDecodeHead.cls_seg` last::

    class MyHead(BaseDecodeHead):
        def __init__(self, **kwargs): ...
        def forward(self, inputs):
            x = self._transform_inputs(inputs)
            return self.cls_seg(self.convs(x))
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Union

import torch
import torch.nn.functional as F
from torch import nn

from ...errors import DataError
from ...registry import build, describe_location, resolve, takes_argument
from ...registry.slots import Slot
from ..layers import ConvModule, normal_init

__all__ = ["BaseDecodeHead", "LossCfg", "PPM", "resize", "seg_accuracy"]

_DEFAULT_LOSS: Mapping[str, Any] = {"type": "CrossEntropyLoss", "use_sigmoid": False, "loss_weight": 1.0}
_TRANSFORMS = (None, "resize_concat", "multiple_select")

LossCfg = Union[Mapping[str, Any], Sequence[Mapping[str, Any]]]


def resize(x: torch.Tensor, size: Sequence[int], mode: str = "bilinear",
           align_corners: bool | None = False) -> torch.Tensor:
    """``F.interpolate`` to ``size`` (H, W); ``align_corners`` is dropped for modes that reject it."""
    size = (int(size[0]), int(size[1]))
    if tuple(x.shape[-2:]) == size:
        return x
    if mode in ("nearest", "area", "nearest-exact"):
        return F.interpolate(x, size=size, mode=mode)
    return F.interpolate(x, size=size, mode=mode, align_corners=align_corners)


def class_map(scores: torch.Tensor, dim: int = 1) -> torch.Tensor:
    """Index of the highest score along ``dim`` (the first one on ties, as ``argmax``).

    ``max(dim).indices`` rather than ``argmax``: over a dimension that is not the innermost one
    (the class dimension of an NCHW map) ``argmax`` is ~9x slower on CPU.
    """
    return scores.max(dim=dim).indices


def seg_accuracy(seg_logit: torch.Tensor, seg_label: torch.Tensor, ignore_index: int | None = None) -> torch.Tensor:
    """Top-1 pixel accuracy in percent over pixels whose label is not ``ignore_index``.

    Args:
        seg_logit: (N, C, H, W) logits.
        seg_label: (N, H, W) long labels.

    Returns:
        A 1-element tensor (0 when no pixel is valid).
    """
    pred = class_map(seg_logit, dim=1)
    valid = seg_label != ignore_index if ignore_index is not None else torch.ones_like(seg_label, dtype=torch.bool)
    total = valid.sum()
    correct = ((pred == seg_label) & valid).sum()
    acc = correct.float() * 100.0 / total.clamp(min=1).float()
    return acc.reshape(1)


class PPM(nn.ModuleList):
    """Pyramid pooling module of PSPNet, shared by PSP and UPerNet heads (MMSegmentation keys).

    Branch ``i`` is ``Sequential(AdaptiveAvgPool2d(pool_scales[i]), ConvModule(in_channels, channels, 1))``
    (keys ``<i>.1.conv.weight``, ``<i>.1.bn.*``), its output resized back to the input size.

    Shapes: ``(N, in_channels, H, W)`` -> list of ``len(pool_scales)`` maps ``(N, channels, H, W)``.
    """

    def __init__(self, pool_scales: Sequence[int], in_channels: int, channels: int,
                 conv_cfg: Mapping[str, Any] | None = None, norm_cfg: Mapping[str, Any] | None = None,
                 act_cfg: Mapping[str, Any] | None = {"type": "ReLU"},  # noqa: B006  (never mutated)
                 align_corners: bool = False) -> None:
        super().__init__()
        if isinstance(pool_scales, int) or not pool_scales:
            raise ValueError(f"pool_scales must be a non-empty list of ints, got {pool_scales!r}")
        self.pool_scales = tuple(int(s) for s in pool_scales)
        self.align_corners = align_corners
        for scale in self.pool_scales:
            self.append(nn.Sequential(
                nn.AdaptiveAvgPool2d(scale),
                ConvModule(in_channels, channels, 1, conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg),
            ))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:  # type: ignore[override]
        return [resize(branch(x), x.shape[2:], "bilinear", self.align_corners) for branch in self]


def _loss_name(loss: nn.Module) -> str:
    name = getattr(loss, "loss_name", None)
    if not isinstance(name, str):
        raise TypeError(
            f"{type(loss).__name__} used as a decode loss must expose a `loss_name` property "
            "(e.g. 'loss_ce') starting with 'loss_'"
        )
    return name


class BaseDecodeHead(nn.Module):
    """Common part of decode heads: input selection, classifier, losses.

    Args:
        in_channels: input channels; a list when ``input_transform`` is set.
        channels: channels after the head's own modules (input of ``conv_seg``).
        num_classes: number of classes (``conv_seg`` outputs this many maps).
        dropout_ratio: ``nn.Dropout2d`` probability before ``conv_seg`` (default 0.1; 0 disables).
        conv_cfg, norm_cfg, act_cfg: for the head's ``ConvModule`` s
            (defaults ``None``, ``None``, ``dict(type='ReLU')``).
        in_index: which input feature map(s) to take (default -1, the last).
        input_transform: ``None`` (one map), ``'resize_concat'`` (resize the selected maps to the
            first one's size and concatenate) or ``'multiple_select'`` (a list of maps).
        loss_decode: one loss config or a list, each built from group ``losses``; a loss module
            exposes ``loss_name`` and is called as ``loss(seg_logit, seg_label, weight=..., ignore_index=...)``.
            Default ``dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)``.
        ignore_index: label ignored by losses and accuracy (default 255).
        sampler: optional pixel sampler config (group ``task_modules``, e.g. ``OHEMPixelSampler``),
            built with ``context=self`` when it takes one.
        align_corners: of every bilinear resize (default False).
        init_cfg: kept for MMSegmentation configs; ``conv_seg`` is initialised ``Normal(std=0.01)``.

    Shapes: ``forward(inputs)`` takes the tuple of feature maps and returns (N, num_classes, h, w).
    """

    slots: ClassVar[dict[str, Slot]] = {
        "loss_decode": Slot("losses"),
        "sampler": Slot("task_modules", fills=("context",)),
    }
    #: the head's own modules read one map: it refuses ``input_transform='multiple_select'``
    single_map: ClassVar[bool] = False

    def __init__(
        self,
        in_channels: int | Sequence[int],
        channels: int,
        *,
        num_classes: int,
        dropout_ratio: float = 0.1,
        conv_cfg: Mapping[str, Any] | None = None,
        norm_cfg: Mapping[str, Any] | None = None,
        act_cfg: Mapping[str, Any] | None = {"type": "ReLU"},  # noqa: B006  (never mutated)
        in_index: int | Sequence[int] = -1,
        input_transform: str | None = None,
        loss_decode: LossCfg = _DEFAULT_LOSS,
        ignore_index: int = 255,
        sampler: Mapping[str, Any] | None = None,
        align_corners: bool = False,
        init_cfg: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        super().__init__()
        self._init_inputs(in_channels, in_index, input_transform)
        self.channels = int(channels)
        self.num_classes = int(num_classes)
        self.dropout_ratio = float(dropout_ratio)
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        self.ignore_index = int(ignore_index)
        self.align_corners = bool(align_corners)
        self.init_cfg = init_cfg

        if isinstance(loss_decode, Mapping):
            self.loss_decode: nn.Module = build(loss_decode, "losses")
            _loss_name(self.loss_decode)
        elif isinstance(loss_decode, Sequence) and not isinstance(loss_decode, str):
            self.loss_decode = nn.ModuleList(build(cfg, "losses") for cfg in loss_decode)
            for loss in self.loss_decode:
                _loss_name(loss)
        else:
            raise TypeError(f"loss_decode must be a dict or a list of dicts, got {type(loss_decode).__name__}")

        self.sampler: Any = None
        if sampler:
            # MMSegmentation's samplers take the head as ``context``; segdet's do not need it
            sampler_cls = sampler["type"] if not isinstance(sampler["type"], str) else resolve(
                sampler["type"], "task_modules", describe_location(sampler))
            extra = {"context": self} if takes_argument(sampler_cls, "context") else None
            self.sampler = build(sampler, "task_modules", default_args=extra)

        self.conv_seg = nn.Conv2d(self.channels, self.num_classes, kernel_size=1)
        self.dropout = nn.Dropout2d(self.dropout_ratio) if self.dropout_ratio > 0 else None
        normal_init(self.conv_seg, mean=0.0, std=0.01, bias=0.0)

    # ---------------------------------------------------------------- inputs
    def _init_inputs(self, in_channels: int | Sequence[int], in_index: int | Sequence[int],
                     input_transform: str | None) -> None:
        if input_transform not in _TRANSFORMS:
            raise ValueError(f"input_transform must be one of {_TRANSFORMS}, got {input_transform!r}")
        if self.single_map and input_transform == "multiple_select":
            raise ValueError(f"{type(self).__name__} takes one map: use input_transform=None or 'resize_concat'")
        self.input_transform = input_transform
        if input_transform is None:
            if not isinstance(in_channels, int) or not isinstance(in_index, int):
                raise TypeError(
                    "with input_transform=None, in_channels and in_index must be ints, got "
                    f"in_channels={in_channels!r}, in_index={in_index!r}; "
                    "set input_transform='resize_concat' or 'multiple_select' to take several maps"
                )
            self.in_channels: int | list[int] = in_channels
            self.in_index: int | list[int] = in_index
            return
        if isinstance(in_channels, int) or isinstance(in_index, int) or len(in_channels) != len(in_index):
            raise ValueError(
                f"with input_transform={input_transform!r}, in_channels and in_index must be lists of "
                f"equal length, got in_channels={in_channels!r}, in_index={in_index!r}"
            )
        self.in_index = list(in_index)
        # resize_concat stacks the maps, so the head sees their channel sum
        self.in_channels = sum(in_channels) if input_transform == "resize_concat" else list(in_channels)

    def _transform_inputs(self, inputs: Sequence[torch.Tensor]) -> Any:
        """Select (and for ``resize_concat`` merge) the head's input maps from ``inputs``."""
        if self.input_transform == "resize_concat":
            assert isinstance(self.in_index, list)
            maps = [inputs[i] for i in self.in_index]
            size = maps[0].shape[2:]
            return torch.cat([resize(m, size, "bilinear", self.align_corners) for m in maps], dim=1)
        if self.input_transform == "multiple_select":
            assert isinstance(self.in_index, list)
            return [inputs[i] for i in self.in_index]
        assert isinstance(self.in_index, int)
        return inputs[self.in_index]

    # ---------------------------------------------------------------- forward
    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement forward(inputs)")

    def cls_seg(self, feat: torch.Tensor) -> torch.Tensor:
        """Dropout then the 1x1 classifier: (N, channels, h, w) -> (N, num_classes, h, w)."""
        if self.dropout is not None:
            feat = self.dropout(feat)
        return self.conv_seg(feat)

    def forward_train(self, inputs: Sequence[torch.Tensor], img_metas: Sequence[Mapping[str, Any]],
                      gt_semantic_seg: torch.Tensor, train_cfg: Mapping[str, Any] | None = None
                      ) -> dict[str, torch.Tensor]:
        """Logits and losses for a batch; ``gt_semantic_seg`` is (N, 1, H, W) long."""
        seg_logits = self(inputs)
        return self.losses(seg_logits, gt_semantic_seg)

    def forward_test(self, inputs: Sequence[torch.Tensor], img_metas: Sequence[Mapping[str, Any]],
                     test_cfg: Mapping[str, Any] | None = None) -> torch.Tensor:
        """Logits (N, num_classes, h, w) at the head's output resolution."""
        return self(inputs)

    # ---------------------------------------------------------------- losses
    def losses(self, seg_logit: torch.Tensor, seg_label: torch.Tensor) -> dict[str, torch.Tensor]:
        """Losses and accuracy of logits against labels.

        Args:
            seg_logit: (N, C, h, w), resized here to the labels' size.
            seg_label: (N, 1, H, W) or (N, H, W) long; ``ignore_index`` pixels do not count.

        Returns:
            ``{loss_name: Tensor, ..., 'acc_seg': Tensor}``, e.g. ``loss_ce`` (the segmentor adds
            the ``decode.`` / ``aux.`` prefix).
        """
        if seg_label.dim() == 3:
            seg_label = seg_label.unsqueeze(1)
        seg_logit = resize(seg_logit, seg_label.shape[2:], "bilinear", self.align_corners)
        seg_weight = None
        if self.sampler is not None:
            extra = {"ignore_index": self.ignore_index} if takes_argument(self.sampler.sample, "ignore_index") else {}
            seg_weight = self.sampler.sample(seg_logit, seg_label, **extra)
        label = seg_label.squeeze(1).long()
        _check_labels(label, self.num_classes, self.ignore_index)
        losses_decode = self.loss_decode if isinstance(self.loss_decode, nn.ModuleList) else [self.loss_decode]
        out: dict[str, torch.Tensor] = {}
        for loss in losses_decode:
            name = _loss_name(loss)
            kwargs: dict[str, Any] = {"weight": seg_weight}
            if takes_argument(loss.forward, "ignore_index"):
                kwargs["ignore_index"] = self.ignore_index
            value = loss(seg_logit, label, **kwargs)
            out[name] = out[name] + value if name in out else value
        out["acc_seg"] = seg_accuracy(seg_logit.detach(), label, ignore_index=self.ignore_index)
        return out


def _check_labels(label: torch.Tensor, num_classes: int, ignore_index: int) -> None:
    """A label that is neither a class nor ``ignore_index`` would end in torch's bare
    ``IndexError: Target 11 is out of bounds``; say which value and which setting instead."""
    # Elementwise on the whole map; only a failing batch pays for boolean indexing.
    wrong = ((label < 0) | (label >= num_classes)) & (label != ignore_index)
    if not bool(wrong.any()):
        return
    values = label[wrong]
    high = int(values.max())
    bad = high if high >= num_classes else int(values.min())
    raise DataError(
        f"segmentation label value {bad} in the training data is neither a class index (0..{num_classes - 1} "
        f"for num_classes={num_classes}) nor the heads' ignore_index={ignore_index}. If {bad} marks pixels to "
        f"ignore, set ignore_index={bad} on the data set and on decode_head/auxiliary_head (they must agree); "
        "otherwise fix num_classes, reduce_zero_label or label_map of the data set."
    )

