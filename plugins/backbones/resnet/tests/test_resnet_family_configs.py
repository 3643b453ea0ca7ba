"""configs/{resnext,res2net,regnet,dcn}: each builds a backbone with MMDetection's keys and shapes.

References (../shared/reference/openmmlab_state_dict_keys.json has none of these models):
- ResNeXt: torchvision's ResNet with ``groups``/``width_per_group`` uses MMDetection's key names and
  the same width rule (``floor(planes * base_width / 64) * groups``); its state dict minus ``fc.*``.
- RegNet: torchvision's ``regnet_x_*`` (same generating rule, built independently), keys mapped by
  the ``torchvision-regnet`` converter (``f.a.0`` -> ``conv1`` ...; checked one by one in test_regnet_backbone.py).
- DCN: the reference RetinaNet-R50 backbone keys from the JSON file plus, per MMCV's
  ``DeformConv2dPack`` / ``ModulatedDeformConv2dPack``, ``layer{2,3,4}.{j}.conv2.conv_offset.weight``
  ``(dg * {2,3} * 9, C, 3, 3)`` and ``.bias`` ``(dg * {2,3} * 9,)`` for each of the 4 + 6 + 3 blocks.
- Res2Net: hand-derived from MMDetection's res2net.py (see the test's docstring).
"""
from __future__ import annotations

from pathlib import Path

import pytest
import torchvision
from segdet_backbone_resnet.convert import torchvision_regnet
from torchvision.models.resnet import Bottleneck as TvBottleneck
from torchvision.models.resnet import ResNet as TvResNet

from segdet import Config
from segdet.api import build
from segdet.testing.shared import reference_keys

ROOT = Path(__file__).resolve().parents[4]


def _backbone_shapes(config: str) -> dict[str, tuple[int, ...]]:
    cfg = Config.fromfile(str(ROOT / "configs" / config))
    net = build(cfg.model.backbone, "backbones")  # resolves init_cfg names, reads no file
    return {k: tuple(v.shape) for k, v in net.state_dict().items()}


def _shapes(state) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in state.items() if not k.startswith("fc.")}


def test_resnext101_32x4d_config_matches_torchvision_resnext() -> None:
    ref = _shapes(TvResNet(TvBottleneck, [3, 4, 23, 3], groups=32, width_per_group=4).state_dict())
    got = _backbone_shapes("resnext/retinanet_x101_32x4d_fpn_1x_coco.py")
    assert got == ref
    assert got["layer1.0.conv2.weight"] == (128, 4, 3, 3) and got["layer4.2.conv3.weight"] == (2048, 1024, 1, 1)


def test_resnext101_64x4d_config_matches_torchvision_resnext() -> None:
    ref = _shapes(torchvision.models.resnext101_64x4d(weights=None).state_dict())
    assert _backbone_shapes("resnext/retinanet_x101_64x4d_fpn_1x_coco.py") == ref


@pytest.mark.parametrize("config,tv_name", [("regnet/retinanet_regnetx-800MF_fpn_1x_coco.py", "regnet_x_800mf"),
                                            ("regnet/retinanet_regnetx-3.2GF_fpn_1x_coco.py", "regnet_x_3_2gf")])
def test_regnet_configs_match_torchvision_regnetx(config: str, tv_name: str) -> None:
    ref = _shapes(torchvision_regnet(getattr(torchvision.models, tv_name)(weights=None).state_dict()))
    got = _backbone_shapes(config)
    assert got == ref
    cfg = Config.fromfile(str(ROOT / "configs" / config))
    last = max(int(k.split(".")[0][len("layer"):]) for k in got if k.startswith("layer"))
    widths = [got[f"layer{i}.0.conv3.weight"][0] for i in range(1, last + 1)]
    assert widths == list(cfg.model.neck.in_channels)


@pytest.mark.parametrize("config,per_point", [("dcn/retinanet_r50_fpn_dconv_c3-c5_1x_coco.py", 2),
                                              ("dcn/retinanet_r50_fpn_mdconv_c3-c5_1x_coco.py", 3)])
def test_dcn_configs_are_the_reference_r50_plus_mmcv_offset_convs(config: str, per_point: int) -> None:
    ref_all = reference_keys()["retinanet/retinanet_r50_fpn_1x_coco.py"]
    expected = {k[len("backbone."):]: tuple(v) for k, v in ref_all.items() if k.startswith("backbone.")}
    for stage, blocks, width in ((2, 4, 128), (3, 6, 256), (4, 3, 512)):
        for j in range(blocks):
            expected[f"layer{stage}.{j}.conv2.conv_offset.weight"] = (per_point * 9, width, 3, 3)
            expected[f"layer{stage}.{j}.conv2.conv_offset.bias"] = (per_point * 9,)
    assert _backbone_shapes(config) == expected


def test_res2net101_config_has_mmdetections_keys() -> None:
    """Res2Net-101 26w x 4s (v1d), derived by hand from MMDetection's res2net.py.

    Per Bottle2neck (scales=4): conv1, bn1, convs.0-2, bns.0-2, conv3, bn3 = 4 convs + 4 norms x 5
    entries (weight, bias, running_mean, running_var, num_batches_tracked) = 4 + 6 * ... = 30 keys;
    the first block of each stage adds downsample.1 (conv) + downsample.2 (norm) = 6 keys
    (downsample.0 is the AvgPool2d). Blocks 3 + 4 + 23 + 3 = 33 -> 33 * 30 + 4 * 6 = 1014; the deep stem
    adds stem.0/3/6 convs and stem.1/4/7 norms = 18: 1032 keys.
    width = floor(planes * 26 / 64) = 26, 52, 104, 208 for planes 64, 128, 256, 512.
    """
    got = _backbone_shapes("res2net/retinanet_r2_101_fpn_1x_coco.py")
    assert len(got) == 1032
    expected = {
        "stem.0.weight": (32, 3, 3, 3), "stem.3.weight": (32, 32, 3, 3), "stem.6.weight": (64, 32, 3, 3),
        "stem.7.running_var": (64,),
        "layer1.0.conv1.weight": (104, 64, 1, 1), "layer1.0.bn1.weight": (104,),
        "layer1.0.convs.0.weight": (26, 26, 3, 3), "layer1.0.bns.2.running_mean": (26,),
        "layer1.0.conv3.weight": (256, 104, 1, 1), "layer1.0.downsample.1.weight": (256, 64, 1, 1),
        "layer1.2.convs.2.weight": (26, 26, 3, 3),
        "layer2.0.conv1.weight": (208, 256, 1, 1), "layer2.0.convs.1.weight": (52, 52, 3, 3),
        "layer2.0.downsample.1.weight": (512, 256, 1, 1), "layer2.3.conv3.weight": (512, 208, 1, 1),
        "layer3.0.conv1.weight": (416, 512, 1, 1), "layer3.22.convs.2.weight": (104, 104, 3, 3),
        "layer3.0.downsample.2.num_batches_tracked": (),
        "layer4.0.conv1.weight": (832, 1024, 1, 1), "layer4.2.convs.0.weight": (208, 208, 3, 3),
        "layer4.2.conv3.weight": (2048, 832, 1, 1), "layer4.0.downsample.1.weight": (2048, 1024, 1, 1),
    }
    assert {k: got.get(k) for k in expected} == expected
    assert not any(".conv2." in k or "layer3.23." in k or ".convs.3." in k for k in got)


@pytest.mark.slow
def test_faster_rcnn_dconv_config_is_the_reference_model_plus_offset_convs() -> None:
    """The whole Faster R-CNN: every key of the reference R50 model, plus MMCV's 26 offset-conv entries."""
    from segdet import build_model

    expected = {k: tuple(v) for k, v in reference_keys()["faster_rcnn/faster_rcnn_r50_fpn_1x_coco.py"].items()}
    for stage, blocks, width in ((2, 4, 128), (3, 6, 256), (4, 3, 512)):
        for j in range(blocks):
            expected[f"backbone.layer{stage}.{j}.conv2.conv_offset.weight"] = (18, width, 3, 3)
            expected[f"backbone.layer{stage}.{j}.conv2.conv_offset.bias"] = (18,)
    cfg = Config.fromfile(str(ROOT / "configs/dcn/faster_rcnn_r50_fpn_dconv_c3-c5_1x_coco.py"))
    model = build_model(cfg.model)
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == expected


def test_res2net_faster_rcnn_config_uses_the_same_backbone_and_a_2x_schedule() -> None:
    cfg = Config.fromfile(str(ROOT / "configs/res2net/faster_rcnn_r2_101_fpn_2x_coco.py"))
    assert cfg.runner.max_epochs == 24 and list(cfg.lr_config.step) == [16, 22]
    assert _backbone_shapes("res2net/faster_rcnn_r2_101_fpn_2x_coco.py") == _backbone_shapes(
        "res2net/retinanet_r2_101_fpn_1x_coco.py")
