"""The ResNet family for segdet: ResNet, ResNetV1c/V1d, ResNeXt, Res2Net, RegNet, deformable convs."""
from .blocks import BasicBlock, Bottleneck, ResLayer
from .convert import torchvision_resnet
from .dcn import DeformConv2dPack, ModulatedDeformConv2dPack
from .regnet import RegNet
from .res2net import Res2Net
from .resnet import ResNet
from .resnet_v1 import ResNetV1c, ResNetV1d
from .resnext import ResNeXt

__all__ = ["BasicBlock", "Bottleneck", "DeformConv2dPack", "ModulatedDeformConv2dPack", "RegNet", "Res2Net",
           "ResLayer", "ResNeXt", "ResNet", "ResNetV1c", "ResNetV1d", "torchvision_resnet"]
