"""A torchvision ResNet, converted, gives the same stage outputs in segdet's ResNet."""
from __future__ import annotations

import pytest
import torch
from segdet_backbone_resnet import ResNet, torchvision_resnet

torchvision = pytest.importorskip("torchvision")


@pytest.mark.parametrize("depth", [18, 50])
def test_converted_torchvision_resnet_matches_layer_outputs(depth: int) -> None:
    torch.manual_seed(0)
    tv = getattr(torchvision.models, f"resnet{depth}")(weights=None).eval()
    for m in tv.modules():  # non-trivial running statistics, so eval-mode BN matters
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
    state = torchvision_resnet(tv.state_dict())
    assert not any(k.startswith("fc.") for k in state)
    net = ResNet(depth=depth).eval()
    net.load_state_dict(state, strict=True)

    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        ours = net(x)
        y = tv.maxpool(tv.relu(tv.bn1(tv.conv1(x))))
        for out, name in zip(ours, ["layer1", "layer2", "layer3", "layer4"]):
            y = getattr(tv, name)(y)
            assert out.shape == y.shape
            torch.testing.assert_close(out, y, atol=1e-5, rtol=1e-5)


def test_converter_strips_module_prefix_and_rejects_other_models() -> None:
    tv = torchvision.models.resnet18(weights=None)
    state = torchvision_resnet({f"module.{k}": v for k, v in tv.state_dict().items()})
    ResNet(depth=18).load_state_dict(state, strict=True)
    with pytest.raises(ValueError, match="not a torchvision ResNet"):
        torchvision_resnet({"features.0.weight": torch.zeros(8, 3, 3, 3), "classifier.0.bias": torch.zeros(8)})


def test_converter_is_registered() -> None:
    from segdet.api import resolve

    assert resolve("torchvision-resnet", "converters") is torchvision_resnet
