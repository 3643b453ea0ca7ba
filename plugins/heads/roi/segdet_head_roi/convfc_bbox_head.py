"""RoI box head of shared convs/fcs followed by separate classification and regression branches."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from torch import Tensor, nn

from segdet.api import ConvModule, Slot, load_pretrained, normal_init, xavier_init

from .bbox_head_base import DEFAULT_BBOX_CODER, DEFAULT_LOSS_BBOX, DEFAULT_LOSS_CLS, BBoxHeadBase

__all__ = ["ConvFCBBoxHead"]


class ConvFCBBoxHead(BBoxHeadBase):
    """``shared convs -> shared fcs``, then ``cls convs -> cls fcs -> fc_cls`` and ``reg ... -> fc_reg``.

    MMDetection 2.x parameter names (``shared_convs.N.conv``, ``shared_fcs.N``, ``cls_fcs.N``,
    ``reg_fcs.N``, ``fc_cls``, ``fc_reg``), so its checkpoints load.

    Args:
        num_shared_convs, num_shared_fcs, num_cls_convs, num_cls_fcs, num_reg_convs, num_reg_fcs:
            layers of each part (all 0 by default).
        conv_out_channels: width of the 3x3 convs. Default 256.
        fc_out_channels: width of the fcs. Default 1024.
        conv_cfg, norm_cfg: of the convs (``ConvModule``).
        with_avg_pool, with_cls, with_reg, roi_feat_size, in_channels, num_classes, bbox_coder,
        reg_class_agnostic, reg_decoded_bbox, loss_cls, loss_bbox, init_cfg: see
            :class:`~segdet_head_roi.bbox_head_base.BBoxHeadBase`.

    Shapes: ``forward(x)`` with ``x: (N, in_channels, roi_feat_size, roi_feat_size)`` returns
    ``cls_score (N, num_classes + 1)`` and ``bbox_pred (N, 4)`` or ``(N, 4 * num_classes)``.
    """

    slots: ClassVar[dict[str, Slot]] = {
        "bbox_coder": Slot("task_modules"),
        "loss_cls": Slot("losses"),
        "loss_bbox": Slot("losses"),
    }

    def __init__(
        self,
        num_shared_convs: int = 0,
        num_shared_fcs: int = 0,
        num_cls_convs: int = 0,
        num_cls_fcs: int = 0,
        num_reg_convs: int = 0,
        num_reg_fcs: int = 0,
        conv_out_channels: int = 256,
        fc_out_channels: int = 1024,
        conv_cfg: Mapping[str, Any] | None = None,
        norm_cfg: Mapping[str, Any] | None = None,
        with_avg_pool: bool = False,
        with_cls: bool = True,
        with_reg: bool = True,
        roi_feat_size: int = 7,
        in_channels: int = 256,
        num_classes: int = 80,
        bbox_coder: Mapping[str, Any] = DEFAULT_BBOX_CODER,
        reg_class_agnostic: bool = False,
        reg_decoded_bbox: bool = False,
        loss_cls: Mapping[str, Any] = DEFAULT_LOSS_CLS,
        loss_bbox: Mapping[str, Any] = DEFAULT_LOSS_BBOX,
        init_cfg: Any = None,
    ) -> None:
        super().__init__(with_avg_pool, with_cls, with_reg, roi_feat_size, in_channels, num_classes, bbox_coder,
                         reg_class_agnostic, reg_decoded_bbox, loss_cls, loss_bbox, init_cfg)
        if num_shared_convs + num_shared_fcs + num_cls_convs + num_cls_fcs + num_reg_convs + num_reg_fcs <= 0:
            raise ValueError("ConvFCBBoxHead needs at least one conv or fc layer")
        if (num_cls_convs > 0 or num_reg_convs > 0) and num_shared_fcs > 0:
            raise ValueError("ConvFCBBoxHead: branch convs cannot follow shared fcs (set num_shared_fcs=0)")
        if not with_cls and (num_cls_convs or num_cls_fcs):
            raise ValueError("ConvFCBBoxHead: with_cls=False but cls branch layers were requested")
        if not with_reg and (num_reg_convs or num_reg_fcs):
            raise ValueError("ConvFCBBoxHead: with_reg=False but reg branch layers were requested")
        self.num_shared_convs = num_shared_convs
        self.num_shared_fcs = num_shared_fcs
        self.num_cls_convs = num_cls_convs
        self.num_cls_fcs = num_cls_fcs
        self.num_reg_convs = num_reg_convs
        self.num_reg_fcs = num_reg_fcs
        self.conv_out_channels = conv_out_channels
        self.fc_out_channels = fc_out_channels
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg

        self.shared_convs, self.shared_fcs, shared_dim = self._branch(num_shared_convs, num_shared_fcs,
                                                                      in_channels, True)
        self.cls_convs, self.cls_fcs, cls_dim = self._branch(num_cls_convs, num_cls_fcs, shared_dim)
        self.reg_convs, self.reg_fcs, reg_dim = self._branch(num_reg_convs, num_reg_fcs, shared_dim)
        if num_shared_fcs == 0 and not with_avg_pool:
            if num_cls_fcs == 0:
                cls_dim *= self.roi_feat_area
            if num_reg_fcs == 0:
                reg_dim *= self.roi_feat_area
        self.relu = nn.ReLU(inplace=True)
        if with_avg_pool:
            self.avg_pool = nn.AvgPool2d(self.roi_feat_size)
        if with_cls:
            self.fc_cls = nn.Linear(cls_dim, num_classes + 1)
        if with_reg:
            self.fc_reg = nn.Linear(reg_dim, 4 if reg_class_agnostic else 4 * num_classes)
        self._default_init()

    def _branch(self, num_convs: int, num_fcs: int, in_dim: int,
                is_shared: bool = False) -> tuple[nn.ModuleList, nn.ModuleList, int]:
        """Convs then fcs of one part; returns them and the part's output width."""
        dim = in_dim
        convs = nn.ModuleList()
        for i in range(num_convs):
            convs.append(ConvModule(dim if i == 0 else self.conv_out_channels, self.conv_out_channels, 3,
                                    padding=1, conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg))
        if num_convs > 0:
            dim = self.conv_out_channels
        fcs = nn.ModuleList()
        if num_fcs > 0:
            if (is_shared or self.num_shared_fcs == 0) and not self.with_avg_pool:
                dim *= self.roi_feat_area
            for i in range(num_fcs):
                fcs.append(nn.Linear(dim if i == 0 else self.fc_out_channels, self.fc_out_channels))
            dim = self.fc_out_channels
        return convs, fcs, dim

    def _default_init(self) -> None:
        """MMDetection's init: xavier-uniform fcs, ``fc_cls`` std 0.01, ``fc_reg`` std 0.001, zero biases."""
        for fcs in (self.shared_fcs, self.cls_fcs, self.reg_fcs):
            for fc in fcs:
                xavier_init(fc, distribution="uniform")
        if self.with_cls:
            normal_init(self.fc_cls, std=0.01)
        if self.with_reg:
            normal_init(self.fc_reg, std=0.001)

    def init_weights(self) -> None:
        """Re-initialise; then load ``init_cfg`` if it is ``dict(type='Pretrained', checkpoint=...)``."""
        self._default_init()
        cfg = self.init_cfg
        if isinstance(cfg, Mapping) and cfg.get("type") == "Pretrained":
            load_pretrained(self, str(cfg["checkpoint"]), prefix=cfg.get("prefix"))

    def _run_branch(self, x: Tensor, convs: nn.ModuleList, fcs: nn.ModuleList) -> Tensor:
        for conv in convs:
            x = conv(x)
        if x.dim() > 2:
            if self.with_avg_pool:
                x = self.avg_pool(x)
            x = x.flatten(1)
        for fc in fcs:
            x = self.relu(fc(x))
        return x

    def forward(self, x: Tensor) -> tuple[Tensor | None, Tensor | None]:
        """``(N, C, S, S)`` RoI features -> ``cls_score``, ``bbox_pred`` (``None`` without that branch)."""
        for conv in self.shared_convs:
            x = conv(x)
        if self.num_shared_fcs > 0:
            if self.with_avg_pool:
                x = self.avg_pool(x)
            x = x.flatten(1)
            for fc in self.shared_fcs:
                x = self.relu(fc(x))
        cls_score = self.fc_cls(self._run_branch(x, self.cls_convs, self.cls_fcs)) if self.with_cls else None
        bbox_pred = self.fc_reg(self._run_branch(x, self.reg_convs, self.reg_fcs)) if self.with_reg else None
        return cls_score, bbox_pred

