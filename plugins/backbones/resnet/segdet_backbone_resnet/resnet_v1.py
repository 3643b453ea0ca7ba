"""ResNetV1c and ResNetV1d: ResNet with a deep stem (and average-pool shortcuts), as MMSegmentation uses."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from .resnet import ResNet

__all__ = ["ResNetV1c", "ResNetV1d"]


class _DeepStemResNet(ResNet):
    """ResNet with the deep stem (three 3x3 stem convs, keys ``stem.*``); subclasses fix ``avg_down``.

    Takes every argument of :class:`ResNet` except ``deep_stem`` and ``avg_down``.
    """

    #: shortcut of a strided block: ``AvgPool2d`` + 1x1 conv (True) or a strided 1x1 conv
    _avg_down: ClassVar[bool] = False

    def __init__(
        self,
        depth: int,
        in_channels: int = 3,
        stem_channels: int | None = None,
        base_channels: int = 64,
        num_stages: int = 4,
        strides: Sequence[int] = (1, 2, 2, 2),
        dilations: Sequence[int] = (1, 1, 1, 1),
        out_indices: Sequence[int] = (0, 1, 2, 3),
        style: str = "pytorch",
        frozen_stages: int = -1,
        conv_cfg: Mapping[str, Any] | None = None,
        norm_cfg: Mapping[str, Any] = {"type": "BN", "requires_grad": True},  # noqa: B006  (never mutated)
        norm_eval: bool = True,
        dcn: Mapping[str, Any] | None = None,
        stage_with_dcn: Sequence[bool] = (False, False, False, False),
        with_cp: bool = False,
        zero_init_residual: bool = True,
        multi_grid: Sequence[int] | None = None,
        contract_dilation: bool = False,
        init_cfg: Mapping[str, Any] | None = None,
        pretrained: str | None = None,
    ) -> None:
        super().__init__(
            depth=depth, in_channels=in_channels, stem_channels=stem_channels, base_channels=base_channels,
            num_stages=num_stages, strides=strides, dilations=dilations, out_indices=out_indices, style=style,
            deep_stem=True, avg_down=self._avg_down, frozen_stages=frozen_stages, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
            norm_eval=norm_eval, dcn=dcn, stage_with_dcn=stage_with_dcn, with_cp=with_cp,
            zero_init_residual=zero_init_residual, multi_grid=multi_grid, contract_dilation=contract_dilation,
            init_cfg=init_cfg, pretrained=pretrained)


class ResNetV1c(_DeepStemResNet):
    """ResNet-C: ``deep_stem=True`` (three 3x3 stem convs, keys ``stem.*``), ``avg_down=False``.

    Takes every argument of :class:`ResNet` except ``deep_stem`` and ``avg_down``.
    """

    _avg_down = False


class ResNetV1d(_DeepStemResNet):
    """ResNet-D: ``deep_stem=True`` and ``avg_down=True`` (shortcut ``AvgPool2d`` + 1x1 conv).

    Takes every argument of :class:`ResNet` except ``deep_stem`` and ``avg_down``.
    """

    _avg_down = True
