"""torchvision peers built the way torchvision's pretrained recipe trains them (shared by the benches).

``retinanet_resnet50_fpn(weights=None, norm_layer=FrozenBatchNorm2d, trainable_backbone_layers=3)``
does not do that: without weights torchvision picks ``nn.BatchNorm2d`` itself and makes all five
layers trainable, and the ``norm_layer`` keyword goes through ``**kwargs`` into the transform,
which drops it silently. So the backbone is assembled here from the same public pieces the
builders use: ``resnet50(norm_layer=FrozenBatchNorm2d)`` and ``_resnet_fpn_extractor(backbone, 3)``
(stem and ``layer1`` frozen, statistics frozen everywhere), which is segdet's ``frozen_stages=1``
with ``norm_eval=True``.
"""
from __future__ import annotations

from typing import Any

from torch import nn

__all__ = ["frozen_resnet50_fpn", "count_trainable"]


def frozen_resnet50_fpn(returned_layers: list[int] | None = None, extra_blocks: Any = None) -> nn.Module:
    """ResNet-50 + FPN as torchvision's pretrained recipes train it: FrozenBatchNorm2d everywhere,
    stem and ``layer1`` without gradients (``trainable_layers=3``), random weights.

    Args:
        returned_layers: stages fed to the FPN (torchvision's default ``[1, 2, 3, 4]``).
        extra_blocks: torchvision's FPN extra block (default ``LastLevelMaxPool``).
    """
    from torchvision.models import resnet50
    from torchvision.models.detection.backbone_utils import _resnet_fpn_extractor
    from torchvision.ops import FrozenBatchNorm2d

    body = resnet50(weights=None, norm_layer=FrozenBatchNorm2d)
    backbone = _resnet_fpn_extractor(body, 3, returned_layers=returned_layers, extra_blocks=extra_blocks)
    frozen = [n for n, p in backbone.body.named_parameters()
              if p.requires_grad and not n.startswith(("layer2.", "layer3.", "layer4."))]
    if frozen or any(isinstance(m, nn.BatchNorm2d) for m in backbone.modules()):
        raise RuntimeError("torchvision peer is not frozen as its recipe trains it: "
                           f"trainable {frozen[:3]} or a live BatchNorm2d left")
    return backbone


def count_trainable(model: nn.Module) -> int:
    """Number of parameter elements that receive gradients."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
