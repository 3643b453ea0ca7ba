"""HRNet: branch shapes and strides, the fusion rule, freezing, and MMDetection's keys for the configs."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from segdet_backbone_hrnet import HRModule, HRNet
from segdet_backbone_hrnet._blocks import BasicBlock
from torch.nn.modules.batchnorm import _BatchNorm

from segdet import Config
from segdet.api import build

ROOT = Path(__file__).resolve().parents[4]

TINY = dict(
    stage1=dict(num_modules=1, num_branches=1, block="BOTTLENECK", num_blocks=(1,), num_channels=(4,)),
    stage2=dict(num_modules=1, num_branches=2, block="BASIC", num_blocks=(1, 1), num_channels=(4, 8)),
    stage3=dict(num_modules=1, num_branches=3, block="BASIC", num_blocks=(1, 1, 1), num_channels=(4, 8, 16)),
    stage4=dict(num_modules=2, num_branches=4, block="BASIC", num_blocks=(1, 1, 1, 1),
                num_channels=(4, 8, 16, 16)))


def _tiny(**kwargs) -> HRNet:
    return HRNet(copy.deepcopy(TINY), stem_channels=8, **kwargs)


@pytest.mark.parametrize("size", [(64, 64), (33, 47)])
def test_branch_shapes_and_strides(size: tuple[int, int]) -> None:
    net = _tiny().eval()
    assert net.out_channels == [4, 8, 16, 16] and net.strides == [4, 8, 16, 32]
    outs = net(torch.rand(2, 3, *size))
    h, w = size
    for out, c, s in zip(outs, net.out_channels, net.strides):
        assert out.shape == (2, c, -(-h // s), -(-w // s))


def test_single_scale_output_and_bilinear_fusion() -> None:
    net = _tiny(multiscale_output=False).eval()
    assert net.out_channels == [4] and net.strides == [4]
    (out,) = net(torch.rand(2, 3, 32, 32))
    assert out.shape == (2, 4, 8, 8)
    assert "stage4.1.fuse_layers.1.0.0.0.weight" not in net.state_dict()  # last module fuses into branch 0 only
    assert "stage4.0.fuse_layers.1.0.0.0.weight" in net.state_dict()
    bil = _tiny(upsample_mode="bilinear").eval()
    near = _tiny().eval()
    bil.load_state_dict(near.state_dict())
    x = torch.rand(2, 3, 32, 32)
    assert not torch.allclose(bil(x)[0], near(x)[0])


def test_hr_module_fuses_every_branch_into_every_output() -> None:
    torch.manual_seed(0)
    module = HRModule(2, BasicBlock, (1, 1), [4, 8], (4, 8)).eval()
    for m in module.modules():
        if isinstance(m, _BatchNorm):
            m.running_mean.uniform_(-0.3, 0.3)
    x0, x1 = torch.rand(2, 4, 8, 10), torch.rand(2, 8, 4, 5)
    with torch.no_grad():
        out0, out1 = module([x0, x1])
        b0, b1 = module.branches[0](x0), module.branches[1](x1)
        up = F.interpolate(module.fuse_layers[0][1](b1), scale_factor=2, mode="nearest")
        assert torch.allclose(out0, F.relu(b0 + up), atol=1e-6)
        assert torch.allclose(out1, F.relu(module.fuse_layers[1][0](b0) + b1), atol=1e-6)
    with pytest.raises(ValueError, match="num_branches=2 but num_channels has 3"):
        HRModule(2, BasicBlock, (1, 1), [4, 8], (4, 8, 16))


def test_gradients_reach_every_parameter() -> None:
    net = _tiny(norm_eval=False).train()
    sum(o.mean() for o in net(torch.rand(2, 3, 32, 32))).backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_frozen_stages_and_norm_eval() -> None:
    net = _tiny(frozen_stages=1, norm_eval=False).train()
    frozen = [net.conv1, net.norm1, net.conv2, net.norm2, net.layer1, net.transition1]
    assert all(not p.requires_grad for m in frozen for p in m.parameters())
    assert all(not m.training for f in frozen for m in f.modules())
    assert all(p.requires_grad for p in net.stage2.parameters()) and net.stage2.training
    evaluated = _tiny(norm_eval=True).train()
    before = evaluated.stage4[1].branches[0][0].bn1.running_mean.clone()
    evaluated(torch.rand(2, 3, 32, 32) * 3 + 1)
    assert torch.equal(before, evaluated.stage4[1].branches[0][0].bn1.running_mean)


def test_zero_init_residual_and_pretrained_loading(tmp_path) -> None:
    net = _tiny(zero_init_residual=True)
    assert torch.all(net.layer1[0].bn3.weight == 0) and torch.all(net.stage2[0].branches[1][0].bn2.weight == 0)
    src = _tiny()
    for p in src.parameters():
        p.data.uniform_()
    path = tmp_path / "hr.pth"
    torch.save({"state_dict": {f"backbone.{k}": v for k, v in src.state_dict().items()}}, path)
    loaded = _tiny(init_cfg=dict(type="Pretrained", checkpoint=str(path)))
    loaded.init_weights()
    assert all(torch.equal(v, loaded.state_dict()[k]) for k, v in src.state_dict().items())


def test_bad_extra_dicts_name_the_stage_and_key() -> None:
    bad = copy.deepcopy(TINY)
    bad["stage3"]["num_blocks"] = (1, 1)
    with pytest.raises(ValueError, match="extra.stage3"):
        HRNet(bad)
    bad = copy.deepcopy(TINY)
    bad["stage2"]["fuse_method"] = "SUM"
    with pytest.raises(ValueError, match="unknown \\['fuse_method'\\]"):
        HRNet(bad)
    bad = copy.deepcopy(TINY)
    bad["stage2"]["block"] = "BASICBLOCK"
    with pytest.raises(ValueError, match="'BASIC'"):
        HRNet(bad)
    with pytest.raises(ValueError, match="unknown open-mmlab name"):
        HRNet(copy.deepcopy(TINY), init_cfg=dict(type="Pretrained", checkpoint="open-mmlab://msra/hrnetv2_w99"))


@pytest.mark.parametrize("config,w", [("hrnet/fcos_hrnetv2p_w32_gn-head_4x4_1x_coco.py", 32),
                                      ("hrnet/fcos_hrnetv2p_w18_gn-head_4x4_1x_coco.py", 18)])
def test_hrnet_configs_have_mmdetections_keys(config: str, w: int) -> None:
    """Key count and shapes of HRNetV2-W{w}, derived by hand from MMDetection's hrnet.py.

    A conv is 1 key, a BatchNorm 5 (weight, bias, running_mean, running_var, num_batches_tracked).
    stem conv1/bn1/conv2/bn2: 12. layer1: 4 Bottlenecks (3 convs + 3 norms = 18) + downsample.0/.1 (6): 78.
    transition1: 256 -> w (conv + norm, 6) and a new branch (one stride-2 step, 6): 12.
    stage2 (1 module): 2 x 4 BasicBlocks (12 each) = 96, fuse 0<-1 (6) and 1<-0 (6): 108.
    transition2 and transition3: one new branch each: 6 + 6.
    stage3 (4 modules): 3 x 4 x 12 = 144 + fuse (0<-1, 0<-2, 1<-0, 1<-2: 6 each; 2<-0: two steps 12;
    2<-1: 6) = 42 -> 186 x 4 = 744.
    stage4 (3 modules): 4 x 4 x 12 = 192 + fuse (row 0: 18, row 1: 18, row 2: 12 + 6 + 6, row 3: 18 + 12 + 6)
    = 96 -> 288 x 3 = 864. Total 12 + 78 + 12 + 108 + 6 + 744 + 6 + 864 = 1830.
    """
    cfg = Config.fromfile(str(ROOT / "configs" / config))
    net = build(cfg.model.backbone, "backbones")
    got = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    assert len(got) == 1830
    assert net.out_channels == [w, 2 * w, 4 * w, 8 * w] == list(cfg.model.neck.in_channels)
    expected = {
        "conv1.weight": (64, 3, 3, 3), "conv2.weight": (64, 64, 3, 3), "bn2.running_var": (64,),
        "layer1.0.conv1.weight": (64, 64, 1, 1), "layer1.0.downsample.0.weight": (256, 64, 1, 1),
        "layer1.3.conv3.weight": (256, 64, 1, 1),
        "transition1.0.0.weight": (w, 256, 3, 3), "transition1.1.0.0.weight": (2 * w, 256, 3, 3),
        "stage2.0.branches.1.3.conv2.weight": (2 * w, 2 * w, 3, 3),
        "stage2.0.fuse_layers.0.1.0.weight": (w, 2 * w, 1, 1),
        "stage2.0.fuse_layers.1.0.0.0.weight": (2 * w, w, 3, 3),
        "transition2.2.0.0.weight": (4 * w, 2 * w, 3, 3),
        "stage3.3.fuse_layers.2.0.0.0.weight": (w, w, 3, 3), "stage3.3.fuse_layers.2.0.1.0.weight": (4 * w, w, 3, 3),
        "transition3.3.0.0.weight": (8 * w, 4 * w, 3, 3),
        "stage4.2.branches.3.3.bn2.weight": (8 * w,),
        "stage4.2.fuse_layers.3.0.2.0.weight": (8 * w, w, 3, 3),
        "stage4.2.fuse_layers.0.3.1.weight": (w,),
    }
    assert {k: got.get(k) for k in expected} == expected
    assert not any(k.startswith(("transition2.0", "transition2.1", "stage4.3")) for k in got)


@pytest.mark.slow
def test_faster_rcnn_hrnet_config_builds_and_its_pyramid_fits_the_anchors() -> None:
    from segdet import build_model

    cfg = Config.fromfile(str(ROOT / "configs/hrnet/faster_rcnn_hrnetv2p_w32_1x_coco.py"))
    model = build_model(cfg.model).eval()
    assert model.neck.strides == list(cfg.model.rpn_head.anchor_generator.strides) == [4, 8, 16, 32, 64]
    with torch.no_grad():
        feats = model.neck(model.backbone(torch.rand(1, 3, 64, 64)))
    assert [tuple(f.shape) for f in feats] == [(1, 256, 16 // 2**i, 16 // 2**i) for i in range(5)]


@pytest.mark.segdet_component("HRNet", "backbones", extra=copy.deepcopy(TINY), stem_channels=8)
@pytest.mark.segdet_component("HRNet", "backbones", extra=copy.deepcopy(TINY), stem_channels=8,
                              multiscale_output=False)
def test_hrnet_keeps_the_backbone_contract(segdet_component) -> None:
    assert segdet_component.strides[0] == 4


@pytest.mark.slow
def test_mmsegmentation_fcn_hr18_config_builds_with_its_keys() -> None:
    """FCN-HR18: the W18 backbone (1830 keys, as derived above) and FCNHead over the 270 concatenated
    channels: convs.0 (1x1 conv + SyncBN = 6 keys) and conv_seg (weight, bias): 1838 keys in all."""
    from segdet import build_model

    cfg = Config.fromfile(str(ROOT / "configs/hrnet/fcn_hr18_512x1024_40k_cityscapes.py"))
    model = build_model(cfg.model).eval()
    got = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert len(got) == 1838 and sum(k.startswith("backbone.") for k in got) == 1830
    assert got["decode_head.convs.0.conv.weight"] == (270, 270, 1, 1)
    assert got["decode_head.conv_seg.weight"] == (19, 270, 1, 1)
    assert model.backbone.init_cfg["checkpoint"] == "open-mmlab://msra/hrnetv2_w18"
    assert all(m.upsample_mode == "bilinear" for m in model.backbone.modules() if isinstance(m, HRModule))
