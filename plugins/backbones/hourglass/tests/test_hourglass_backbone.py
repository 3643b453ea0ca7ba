"""HourglassNet at tiny width: outputs per stack, strides, gradients, odd sizes, errors, contract."""
from __future__ import annotations

import pytest
import torch
from segdet_backbone_hourglass.hourglass import HourglassNet

from segdet.api import build
from segdet.testing import check_component

_TINY = {"downsample_times": 2, "num_stacks": 2, "stage_channels": [8, 8, 16], "stage_blocks": [1, 1, 2],
         "feat_channel": 12}


def test_outputs_one_map_per_stack_at_stride_4_with_gradients() -> None:
    torch.manual_seed(0)
    net = build({"type": "HourglassNet", **_TINY}, "backbones")
    assert isinstance(net, HourglassNet)
    assert net.out_channels == [12, 12] and net.strides == [4, 4]
    x = torch.randn(2, 3, 64, 64, requires_grad=True)
    outs = net(x)
    assert len(outs) == 2 and all(o.shape == (2, 12, 16, 16) for o in outs)
    outs[0].sum().backward()   # the first stack's output reaches the stem
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert net.stem[0].conv.weight.grad is not None
    assert net.hourglass_modules[1].up1[0].conv1.weight.grad is None   # later stack not used by out 0
    # the second stack sees the first through conv1x1s / remap_convs / inters
    net.zero_grad()
    net(x)[1].sum().backward()
    assert net.remap_convs[0].conv.weight.grad.abs().sum() > 0
    assert net.inters[0].conv1.weight.grad.abs().sum() > 0


def test_odd_input_sizes_are_resized_to_fit() -> None:
    net = HourglassNet(**_TINY).eval()
    with torch.no_grad():
        out = net(torch.randn(1, 3, 50, 38))
    assert out[-1].shape == (1, 12, 13, 10)


def test_single_stack_keeps_upstream_keys_and_errors_name_the_argument() -> None:
    one = HourglassNet(**{**_TINY, "num_stacks": 1})
    keys = one.state_dict().keys()
    assert any(k.startswith("inters.0.") for k in keys)   # built (unused) as MMDetection does
    assert not any(k.startswith(("conv1x1s.", "remap_convs.")) for k in keys)
    assert one.init_cfg is None
    with pytest.raises(ValueError, match="same length"):
        HourglassNet(stage_channels=[8, 8], stage_blocks=[1, 1, 1], downsample_times=1)
    with pytest.raises(ValueError, match="more than downsample_times=3"):
        HourglassNet(stage_channels=[8, 8, 8], stage_blocks=[1, 1, 1], downsample_times=3)
    with pytest.raises(ValueError, match="init_cfg must be"):
        HourglassNet(**_TINY, init_cfg={"type": "Kaiming"})


def test_pretrained_checkpoint_loads_by_init_weights(tmp_path) -> None:  # type: ignore[no-untyped-def]
    torch.manual_seed(0)
    src = HourglassNet(**_TINY)
    path = tmp_path / "hg.pth"
    torch.save({"state_dict": {f"backbone.{k}": v for k, v in src.state_dict().items()}}, path)
    dst = HourglassNet(**_TINY, init_cfg={"type": "Pretrained", "checkpoint": str(path), "prefix": "backbone."})
    dst.init_weights()
    for k, v in src.state_dict().items():
        torch.testing.assert_close(dst.state_dict()[k], v)


def test_backbone_group_contract() -> None:
    check_component("HourglassNet", "backbones", **_TINY)
