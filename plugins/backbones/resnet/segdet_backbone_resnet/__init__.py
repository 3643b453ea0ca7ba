"""ResNet backbones for segdet: ``ResNet``, ``ResNetV1c``, ``ResNetV1d`` and a torchvision converter."""
from .blocks import BasicBlock, Bottleneck, ResLayer
from .convert import torchvision_resnet
from .resnet import ResNet, ResNetV1c, ResNetV1d

__all__ = ["BasicBlock", "Bottleneck", "ResLayer", "ResNet", "ResNetV1c", "ResNetV1d", "torchvision_resnet"]
