"""segdet ResNets have exactly the backbone keys and shapes of MMDetection / MMSegmentation models."""
from __future__ import annotations

from typing import Any

import pytest
from segdet_backbone_resnet import ResNet, ResNetV1c

from segdet.testing.shared import reference_keys

_D8 = dict(dilations=(1, 1, 2, 4), strides=(1, 2, 1, 1), contract_dilation=True)
_CASES: dict[str, tuple[type[ResNet], dict[str, Any]]] = {
    "retinanet/retinanet_r50_fpn_1x_coco.py": (ResNet, dict(depth=50, frozen_stages=1)),
    "retinanet/retinanet_r18_fpn_1x_coco.py": (ResNet, dict(depth=18, frozen_stages=1)),
    "atss/atss_r50_fpn_1x_coco.py": (ResNet, dict(depth=50, frozen_stages=1)),
    "fcos/fcos_r50_caffe_fpn_gn-head_1x_coco.py": (
        ResNet, dict(depth=50, style="caffe", norm_cfg=dict(type="BN", requires_grad=False))),
    "faster_rcnn/faster_rcnn_r50_fpn_1x_coco.py": (ResNet, dict(depth=50, frozen_stages=1)),
    "mask_rcnn/mask_rcnn_r50_fpn_1x_coco.py": (ResNet, dict(depth=50, frozen_stages=1)),
    "cascade_rcnn/cascade_rcnn_r50_fpn_1x_coco.py": (ResNet, dict(depth=50, frozen_stages=1)),
    "pspnet/pspnet_r50-d8_512x1024_40k_cityscapes.py": (ResNetV1c, dict(depth=50, norm_eval=False, **_D8)),
    "fcn/fcn_r50-d8_512x1024_40k_cityscapes.py": (ResNetV1c, dict(depth=50, norm_eval=False, **_D8)),
    "upernet/upernet_r50_512x1024_40k_cityscapes.py": (ResNetV1c, dict(depth=50, norm_eval=False)),
}


def _reference() -> dict[str, dict[str, list[int]]]:
    return reference_keys()


@pytest.mark.parametrize("config", sorted(_CASES))
def test_backbone_keys_and_shapes_match_openmmlab(config: str) -> None:
    reference = _reference()[config]
    expected = {k[len("backbone."):]: tuple(v) for k, v in reference.items() if k.startswith("backbone.")}
    cls, kwargs = _CASES[config]
    got = {k: tuple(v.shape) for k, v in cls(**kwargs).state_dict().items()}
    assert sorted(set(expected) - set(got)) == []
    assert sorted(set(got) - set(expected)) == []
    wrong = {k: (got[k], expected[k]) for k in expected if got[k] != expected[k]}
    assert wrong == {}


def test_reference_state_dict_loads_strictly() -> None:
    """A state dict shaped like the published PSPNet checkpoint loads with strict=True."""
    import torch

    reference = _reference()["pspnet/pspnet_r50-d8_512x1024_40k_cityscapes.py"]
    state = {k[len("backbone."):]: torch.zeros(v) for k, v in reference.items() if k.startswith("backbone.")}
    model = ResNetV1c(depth=50, **_D8)
    model.load_state_dict(state, strict=True)
