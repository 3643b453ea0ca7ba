"""segdet's shared backbone contract (shapes vs out_channels/strides, gradients) for the new family members."""
from __future__ import annotations

import pytest

_TINY_REGNET = dict(w0=8, wa=8.0, wm=2.0, group_w=4, depth=5, bot_mul=1.0)


@pytest.mark.segdet_component("ResNeXt", "backbones", depth=50, groups=4, base_width=4, base_channels=8,
                              zero_init_residual=False)
@pytest.mark.segdet_component("Res2Net", "backbones", depth=50, scales=4, base_width=4, base_channels=16,
                              zero_init_residual=False)
@pytest.mark.segdet_component("RegNet", "backbones", arch=_TINY_REGNET, stem_channels=8, strides=(2, 2, 2),
                              dilations=(1, 1, 1), out_indices=(0, 1, 2), zero_init_residual=False)
@pytest.mark.segdet_component("ResNet", "backbones", depth=50, base_channels=8, zero_init_residual=False,
                              dcn=dict(type="DCNv2", deform_groups=2), stage_with_dcn=(False, True, True, True))
@pytest.mark.segdet_component("ResNetV1c", "backbones", depth=50, base_channels=8, zero_init_residual=False,
                              strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4), multi_grid=(1, 2, 4),
                              out_indices=(1, 3))
def test_family_keeps_the_backbone_contract(segdet_component) -> None:
    assert len(segdet_component.out_channels) == len(segdet_component.strides)
