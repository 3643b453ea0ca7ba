"""ResNet backbone with MMDetection / MMSegmentation checkpoint keys (base of the whole family)."""
from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import torch
from torch import nn

from segdet.api import (
    build_norm_layer,
    eval_batch_norms,
    freeze_modules,
    init_residual_weights,
    load_backbone_pretrained,
)

from .blocks import BasicBlock, BlockType, Bottleneck, ResLayer, make_conv
from .checkpoints import resolve_checkpoint
from .dcn import DeformConv2dPack, check_dcn

__all__ = ["ResNet"]

_ARCH: dict[int, tuple[BlockType, tuple[int, ...]]] = {
    18: (BasicBlock, (2, 2, 2, 2)),
    34: (BasicBlock, (3, 4, 6, 3)),
    50: (Bottleneck, (3, 4, 6, 3)),
    101: (Bottleneck, (3, 4, 23, 3)),
    152: (Bottleneck, (3, 8, 36, 3)),
}

_STEM_STRIDE = 4  # stride-2 stem conv, then stride-2 max pool


def check_stage_arguments(name: str, num_stages: int, strides: Sequence[int], dilations: Sequence[int],
                          out_indices: Sequence[int], style: str, norm_cfg: Mapping[str, Any] | None,
                          dcn: Mapping[str, Any] | None, stage_with_dcn: Sequence[bool]) -> None:
    """Reject inconsistent per-stage arguments of backbone ``name`` with a message naming them."""
    if not 1 <= num_stages <= 4:
        raise ValueError(f"{name} num_stages must be 1 to 4, got {num_stages}")
    if len(strides) != num_stages or len(dilations) != num_stages:
        raise ValueError(
            f"{name} needs one stride and one dilation per stage: num_stages={num_stages}, "
            f"strides={tuple(strides)}, dilations={tuple(dilations)}"
        )
    if not out_indices or max(out_indices) >= num_stages or min(out_indices) < 0:
        raise ValueError(f"{name} out_indices {tuple(out_indices)} must lie in 0..{num_stages - 1}")
    if style not in ("pytorch", "caffe"):
        raise ValueError(f"{name} style must be 'pytorch' or 'caffe', got {style!r}")
    if norm_cfg is None:
        raise ValueError(f"{name} needs a norm_cfg, e.g. dict(type='BN', requires_grad=True)")
    check_dcn(dcn, f"{name} dcn")
    if dcn is not None and len(stage_with_dcn) != num_stages:
        raise ValueError(f"{name} stage_with_dcn {tuple(stage_with_dcn)} needs one flag per stage "
                         f"(num_stages={num_stages})")


def check_init_cfg(name: str, init_cfg: Mapping[str, Any] | None,
                   pretrained: str | None) -> Mapping[str, Any] | None:
    """The effective ``init_cfg`` (``pretrained`` is its deprecated alias); only ``Pretrained`` is known."""
    if pretrained is not None:
        if init_cfg is not None:
            raise ValueError(f"{name}: give init_cfg or the deprecated pretrained, not both")
        warnings.warn(f"{name}(pretrained=...) is deprecated; use init_cfg=dict(type='Pretrained', "
                      "checkpoint=...)", DeprecationWarning, stacklevel=4)
        init_cfg = {"type": "Pretrained", "checkpoint": pretrained}
    if init_cfg is not None and (init_cfg.get("type") != "Pretrained" or "checkpoint" not in init_cfg):
        raise ValueError(f"{name} init_cfg must be None or dict(type='Pretrained', checkpoint=...), "
                         f"got {dict(init_cfg)!r}")
    return init_cfg


class ResNet(nn.Module):
    """ResNet backbone returning the feature maps of the stages in ``out_indices``.

    Args:
        depth: 18, 34, 50, 101 or 152.
        in_channels: image channels (3).
        stem_channels: stem output width; ``None`` means ``base_channels``.
        base_channels: width of the first stage (64); stage ``i`` has ``base_channels * 2**i``.
        num_stages: 1 to 4 stages are built (4).
        strides: stride of each stage ((1, 2, 2, 2)).
        dilations: dilation of each stage ((1, 1, 1, 1)).
        out_indices: stages whose outputs are returned ((0, 1, 2, 3)).
        style: ``'pytorch'`` (stride on the 3x3 conv) or ``'caffe'`` (stride on the first 1x1).
        deep_stem: three 3x3 convs (``stem.*``) instead of one 7x7 (``conv1``/``bn1``) (False).
        avg_down: shortcut downsampling by ``AvgPool2d`` + 1x1 conv (False).
        frozen_stages: stages 1..n (and the stem for n >= 0) are frozen; -1 freezes nothing.
        conv_cfg: ``None`` or ``dict(type='Conv2d')``.
        norm_cfg: ``dict(type='BN'|'SyncBN'|'GN', requires_grad=True, ...)``.
        norm_eval: keep BatchNorm layers in eval mode during training (True).
        with_cp: gradient checkpointing of every block, saving memory for compute (False).
        zero_init_residual: the last norm of each block starts at zero (True).
        dcn: ``dict(type='DCN'|'DCNv2', deform_groups=1, fallback_on_stride=False)`` makes the 3x3
            conv of every Bottleneck in the stages flagged by ``stage_with_dcn`` deformable (None).
        stage_with_dcn: one flag per stage ((False, False, False, False)).
        multi_grid: dilation of each block of the last stage (MMSegmentation), e.g. ``(1, 2, 4)``.
        contract_dilation: the first block of a dilated stage uses half the dilation (False).
        init_cfg: ``None`` or ``dict(type='Pretrained', checkpoint=PATH_OR_URL, prefix=None)``, loaded
            by :meth:`init_weights` (not at construction); ``checkpoint`` may also be
            ``torchvision://resnet50`` or ``open-mmlab://resnet50_v1c``. Without ``prefix``, a
            checkpoint none of whose keys match is read again under ``backbone.`` (a whole model).
        pretrained: deprecated alias of ``init_cfg=dict(type='Pretrained', checkpoint=pretrained)``.

    Attributes:
        out_channels: channels of each returned feature map, e.g. ``[256, 512, 1024, 2048]``.
        strides: stride of each returned map w.r.t. the input, e.g. ``[4, 8, 16, 32]``.

    Shapes: ``(N, in_channels, H, W)`` -> tuple of ``(N, out_channels[i], ~H / strides[i], ~W / strides[i])``.

    Example:
        >>> net = ResNet(depth=18, base_channels=8).eval()
        >>> [tuple(o.shape) for o in net(torch.rand(1, 3, 64, 64))]
        [(1, 8, 16, 16), (1, 16, 8, 8), (1, 32, 4, 4), (1, 64, 2, 2)]
    """

    #: depth -> (block class, blocks per stage); subclasses name their own depths and blocks.
    arch_settings: ClassVar[dict[int, tuple[BlockType, tuple[int, ...]]]] = _ARCH

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
        deep_stem: bool = False,
        avg_down: bool = False,
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
        super().__init__()
        name = type(self).__name__
        if depth not in self.arch_settings:
            raise ValueError(f"{name} depth must be one of {sorted(self.arch_settings)}, got {depth!r}")
        check_stage_arguments(name, num_stages, strides, dilations, out_indices, style, norm_cfg, dcn,
                              stage_with_dcn)
        init_cfg = check_init_cfg(name, init_cfg, pretrained)

        self.depth = depth
        self.block, stage_blocks = self.arch_settings[depth]
        self.stage_blocks = stage_blocks[:num_stages]
        self.stem_channels = base_channels if stem_channels is None else stem_channels
        self.base_channels = base_channels
        self.num_stages = num_stages
        self.stage_strides = tuple(strides)
        self.dilations = tuple(dilations)
        self.out_indices = tuple(out_indices)
        self.style = style
        self.deep_stem = deep_stem
        self.avg_down = avg_down
        self.frozen_stages = frozen_stages
        self.norm_cfg = dict(norm_cfg)
        self.norm_eval = norm_eval
        self.with_cp = with_cp
        self.zero_init_residual = zero_init_residual
        self.dcn = None if dcn is None else dict(dcn)
        self.stage_with_dcn = tuple(stage_with_dcn)
        self.multi_grid = None if multi_grid is None else tuple(multi_grid)
        self.contract_dilation = contract_dilation
        self.init_cfg = None if init_cfg is None else dict(init_cfg)
        # Resolved now so that a bad name fails when the config is built, read only by init_weights.
        self._checkpoint = None if init_cfg is None else resolve_checkpoint(str(init_cfg["checkpoint"]))

        self._make_stem(conv_cfg, in_channels, self.stem_channels)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)

        self.res_layers: list[str] = []
        inplanes = self.stem_channels
        stride = _STEM_STRIDE
        stage_out: list[tuple[int, int]] = []
        for i, num_blocks in enumerate(self.stage_blocks):
            planes = base_channels * 2**i
            layer = self._make_res_layer(i, inplanes, planes, num_blocks, conv_cfg)
            inplanes = planes * self.block.expansion
            stride *= strides[i]
            stage_out.append((inplanes, stride))
            self.add_module(f"layer{i + 1}", layer)
            self.res_layers.append(f"layer{i + 1}")
        self.feat_dim = inplanes
        self.out_channels: list[int] = [stage_out[i][0] for i in self.out_indices]
        self.strides: list[int] = [stage_out[i][1] for i in self.out_indices]

        self._default_init()
        self._freeze_stages()

    def _stage_dcn(self, index: int) -> dict[str, Any] | None:
        """The ``dcn`` dict for stage ``index`` (0-based), or None."""
        return self.dcn if self.dcn is not None and self.stage_with_dcn[index] else None

    def _make_res_layer(self, index: int, inplanes: int, planes: int, num_blocks: int,
                        conv_cfg: Mapping[str, Any] | None) -> nn.Module:
        """Stage ``index`` (0-based); subclasses (ResNeXt, Res2Net) build their own blocks here."""
        dcn = self._stage_dcn(index)
        return ResLayer(self.block, inplanes, planes, num_blocks, stride=self.stage_strides[index],
                        dilation=self.dilations[index], contract_dilation=self.contract_dilation,
                        avg_down=self.avg_down, style=self.style, with_cp=self.with_cp, conv_cfg=conv_cfg,
                        norm_cfg=self.norm_cfg,
                        multi_grid=self.multi_grid if index == len(self.stage_blocks) - 1 else None,
                        block_kwargs=None if dcn is None else {"dcn": dcn})

    def _make_stem(self, conv_cfg: Mapping[str, Any] | None, in_channels: int, stem_channels: int) -> None:
        if self.deep_stem:
            half = stem_channels // 2
            self.stem = nn.Sequential(
                make_conv(conv_cfg, in_channels, half, 3, stride=2, padding=1),
                build_norm_layer(self.norm_cfg, half)[1],
                nn.ReLU(inplace=True),
                make_conv(conv_cfg, half, half, 3, stride=1, padding=1),
                build_norm_layer(self.norm_cfg, half)[1],
                nn.ReLU(inplace=True),
                make_conv(conv_cfg, half, stem_channels, 3, stride=1, padding=1),
                build_norm_layer(self.norm_cfg, stem_channels)[1],
                nn.ReLU(inplace=True),
            )
        else:
            self.conv1 = make_conv(conv_cfg, in_channels, stem_channels, 7, stride=2, padding=3)
            self.norm1_name, norm1 = build_norm_layer(self.norm_cfg, stem_channels, postfix=1)
            self.add_module(self.norm1_name, norm1)
            self.relu = nn.ReLU(inplace=True)

    @property
    def norm1(self) -> nn.Module:
        """The stem's norm layer (``bn1`` or ``gn1``); absent with ``deep_stem``."""
        return getattr(self, self.norm1_name)

    def _default_init(self) -> None:
        """Kaiming-normal convs, unit norms; the last norm of each block zeroed if ``zero_init_residual``."""
        init_residual_weights(self, self.zero_init_residual)
        for m in self.modules():
            if isinstance(m, DeformConv2dPack):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                m.init_offset()  # start on the regular grid (conv_offset is an nn.Conv2d, set above)

    def init_weights(self) -> None:
        """Re-initialise, then load the ``init_cfg`` checkpoint if there is one.

        Training calls this once before the first iteration (as MMDetection does); construction
        only initialises randomly, so building a model for testing reads no pretrained file.
        """
        self._default_init()
        if self.init_cfg is not None and self._checkpoint is not None:
            load_backbone_pretrained(self, self._checkpoint, prefix=self.init_cfg.get("prefix"))

    def _freeze_stages(self) -> None:
        frozen: list[nn.Module] = []
        if self.frozen_stages >= 0:
            frozen += [self.stem] if self.deep_stem else [self.conv1, self.norm1]
        frozen += [getattr(self, f"layer{i}") for i in range(1, self.frozen_stages + 1)]
        freeze_modules(frozen)

    def train(self, mode: bool = True) -> ResNet:
        """Set training mode, keeping frozen stages (and BatchNorm if ``norm_eval``) in eval mode."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            eval_batch_norms(self)
        return self

    def _forward_stem(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x) if self.deep_stem else self.relu(self.norm1(self.conv1(x)))
        return self.maxpool(x)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """``(N, C, H, W)`` -> tuple of the feature maps of the stages in ``out_indices``."""
        x = self._forward_stem(x)
        outs = []
        for i, name in enumerate(self.res_layers):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
