"""Cascade encoder-decoder segmentor: decode heads in a chain, each refining the previous one's logits."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import torch
from torch import nn

from ...errors import ConfigError
from ...registry.slots import Slot
from ..decode_heads import resize
from .encoder_decoder import EncoderDecoder, _add_prefix, _head_select

__all__ = ["CascadeEncoderDecoder"]


class CascadeEncoderDecoder(EncoderDecoder):
    """MMSegmentation's ``CascadeEncoderDecoder`` (OCRNet, PointRend): ``decode_head`` is a list of
    ``num_stages`` heads; head 0 is an ordinary decode head, head ``i > 0`` a cascade head called as
    ``head(inputs, prev_output)`` with the logits of head ``i - 1``.

    Args:
        num_stages: number of decode heads (must equal ``len(decode_head)``).
        backbone, neck, auxiliary_head, train_cfg, test_cfg, pretrained, init_cfg: as
            :class:`~segdet.models.segmentors.encoder_decoder.EncoderDecoder`.
        decode_head: list of head configs (group ``heads``); each head's ``in_channels`` is filled
            from upstream when left out. The last head's ``num_classes`` / ``align_corners`` are the
            model's.

    Keys: ``decode_head.<i>.*`` (a ``ModuleList``), as MMSegmentation's.

    Shapes: as ``EncoderDecoder``; losses are ``decode_<i>.*`` per stage (plus ``aux.*``).
    """

    slots: ClassVar[dict[str, Slot]] = {
        "backbone": Slot("backbones", optional=False),
        "neck": Slot("necks", fills=("in_channels",)),
        "decode_head": Slot("heads", fills=("in_channels",), optional=False),  # a list: one head per item
        "auxiliary_head": Slot("heads", fills=("in_channels",)),
    }

    def __init__(
        self,
        num_stages: int,
        backbone: Mapping[str, Any],
        decode_head: Sequence[Mapping[str, Any]],
        neck: Mapping[str, Any] | None = None,
        auxiliary_head: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
        train_cfg: Mapping[str, Any] | None = None,
        test_cfg: Mapping[str, Any] | None = None,
        pretrained: str | None = None,
        init_cfg: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        if isinstance(decode_head, Mapping) or not isinstance(decode_head, Sequence):
            raise ConfigError("model.decode_head of a CascadeEncoderDecoder must be a list of head configs, "
                              f"one per stage; got {type(decode_head).__name__}")
        if len(decode_head) != num_stages or num_stages < 1:
            raise ConfigError(f"model.num_stages={num_stages} but model.decode_head lists {len(decode_head)} "
                              "heads; give one head config per stage")
        # the base class builds backbone, neck, auxiliary heads and stage 0; the later stages are added here
        super().__init__(backbone=backbone, decode_head=decode_head[0], neck=neck, auxiliary_head=auxiliary_head,
                         train_cfg=train_cfg, test_cfg=test_cfg, pretrained=pretrained, init_cfg=init_cfg)
        self.num_stages = num_stages
        upstream = self.neck if self.neck is not None else self.backbone
        first = self.decode_head
        later = [self._build_child(cfg, "heads", upstream, _head_select(cfg)) for cfg in decode_head[1:]]
        self.decode_head = nn.ModuleList([first, *later])
        last: Any = self.decode_head[-1]
        self.align_corners = bool(getattr(last, "align_corners", False))
        self.num_classes = int(last.num_classes)

    def init_weights(self) -> None:
        """Initialise backbone, neck, auxiliary heads (base class) and every decode head."""
        super().init_weights()
        for head in self.decode_head:
            fn = getattr(head, "init_weights", None)
            if callable(fn):
                fn()

    def _heads(self) -> list[Any]:
        return list(self.decode_head)  # type: ignore[arg-type]

    def encode_decode(self, img: torch.Tensor, img_metas: Sequence[Mapping[str, Any]]) -> torch.Tensor:
        """Last stage's logits resized to the input size: (N, num_classes, H, W)."""
        x = self.extract_feat(img)
        heads = self._heads()
        out = heads[0].forward_test(x, img_metas, self.test_cfg)
        for head in heads[1:]:
            out = head.forward_test(x, out, img_metas, self.test_cfg)
        return resize(out, img.shape[2:], "bilinear", self.align_corners)

    def _decode_head_forward_train(self, x: tuple[torch.Tensor, ...], img_metas: Sequence[Mapping[str, Any]],
                                   gt_semantic_seg: torch.Tensor) -> dict[str, torch.Tensor]:
        """Losses of every stage (``decode_<i>.*``); :meth:`forward_train` adds the auxiliary heads'."""
        heads = self._heads()
        losses: dict[str, torch.Tensor] = {}
        losses.update(_add_prefix(heads[0].forward_train(x, img_metas, gt_semantic_seg, self.train_cfg),
                                  "decode_0"))
        # as MMSegmentation: the previous stages run again in their test form to feed the next one
        prev = None
        for i in range(1, len(heads)):
            prev = (heads[0].forward_test(x, img_metas, self.test_cfg) if i == 1
                    else heads[i - 1].forward_test(x, prev, img_metas, self.test_cfg))
            losses.update(_add_prefix(heads[i].forward_train(x, prev, img_metas, gt_semantic_seg, self.train_cfg),
                                      f"decode_{i}"))
        return losses
