"""Converters: a randomly initialised torchvision swin_t, converted, gives the same features.

What is compared: torchvision's ``features`` are ``[embed, stage0, merge, stage1, merge,
stage2, merge, stage3]`` with channels-last outputs and no per-stage norm; only ``norm``
follows ``features.7``. segdet returns ``norm_i(stage_i)`` for each stage. So for stages
0-2 the reference is torchvision's ``features.{1,3,5}`` output passed through segdet's own
``norm0..norm2`` (they have no torchvision counterpart), and for stage 3 it is
``tv.norm(features(x))``, whose weights the converter maps to ``norm3``. The input is
448x448: divisible by 32*7, so no padding anywhere, and the last map (14x14) is larger than
a window, where torchvision, like the official Swin, would otherwise drop the shift.
"""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
import torchvision
from segdet_backbone_swin import SwinTransformer, convert_official_swin, convert_torchvision_swin

from segdet.api import resolve


def _random_torchvision_swin_t() -> torch.nn.Module:
    torch.manual_seed(0)
    tv = torchvision.models.swin_t(weights=None).eval()
    with torch.no_grad():  # LayerNorms start at ones/zeros: make them random so order matters
        for name, p in tv.named_parameters():
            if "norm" in name:
                p.add_(torch.randn_like(p) * 0.2)
    return tv


def _reference_features(tv: torch.nn.Module, seg: SwinTransformer, x: torch.Tensor) -> list[torch.Tensor]:
    feats, y = [], x
    for layer in tv.features:
        y = layer(y)
        feats.append(y)
    refs = []
    for stage, index in enumerate((1, 3, 5, 7)):
        t = feats[index]
        if stage < 3:
            norm = getattr(seg, f"norm{stage}")
            t = F.layer_norm(t, t.shape[-1:], norm.weight, norm.bias, norm.eps)
        else:
            t = tv.norm(t)
        refs.append(t.permute(0, 3, 1, 2))
    return refs


def _official_keys_from_torchvision(tv_state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The official Swin release's names for torchvision's tensors (same layouts)."""
    out = {}
    for key, value in tv_state.items():
        parts = key.split(".")
        if key.startswith("features.0."):
            out[{"0": "patch_embed.proj", "2": "patch_embed.norm"}[parts[2]] + "." + parts[3]] = value
        elif key.startswith("features."):
            index = int(parts[1])
            if index % 2 == 0:  # patch merging after stage index/2 - 1
                out[f"layers.{index // 2 - 1}.downsample." + ".".join(parts[2:])] = value
            else:
                rest = ".".join(parts[3:]).replace("mlp.0.", "mlp.fc1.").replace("mlp.3.", "mlp.fc2.")
                if rest.endswith("relative_position_index"):
                    n = int(value.numel() ** 0.5)
                    value = value.reshape(n, n)
                out[f"layers.{(index - 1) // 2}.blocks.{parts[2]}.{rest}"] = value
        else:
            out[key] = value  # norm.*, head.*
    return out


@pytest.mark.slow
@pytest.mark.parametrize("source", ["torchvision", "official"])
def test_converted_swin_t_matches_torchvision(source: str) -> None:
    tv = _random_torchvision_swin_t()
    state = tv.state_dict()
    converted = (convert_torchvision_swin(state) if source == "torchvision"
                 else convert_official_swin(_official_keys_from_torchvision(state)))
    seg = SwinTransformer(drop_path_rate=0.0).eval()
    result = seg.load_state_dict(converted, strict=False)
    assert sorted(result.missing_keys) == sorted(f"norm{i}.{p}" for i in range(3) for p in ("weight", "bias"))
    assert result.unexpected_keys == []
    x = torch.randn(1, 3, 448, 448)
    with torch.no_grad():
        outs = seg(x)
        refs = _reference_features(tv, seg, x)
    for out, ref in zip(outs, refs):
        assert out.shape == ref.shape
        assert (out - ref).abs().max().item() < 1e-4


def test_patch_merging_permutation_matches_official_concat() -> None:
    c, out_c = 3, 6
    seg = SwinTransformer(embed_dims=c, depths=(1, 1), num_heads=(1, 1), strides=(4, 2), out_indices=(0, 1),
                          window_size=2).stages[0].downsample
    weight, gamma, beta = torch.randn(out_c, 4 * c), torch.randn(4 * c), torch.randn(4 * c)
    state = convert_official_swin({"layers.0.downsample.reduction.weight": weight,
                                   "layers.0.downsample.norm.weight": gamma,
                                   "layers.0.downsample.norm.bias": beta})
    seg.load_state_dict({k.split("downsample.")[1]: v for k, v in state.items()})
    x = torch.randn(2, 6, 4, c)
    cat = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], -1)
    ref = F.linear(F.layer_norm(cat, (4 * c,), gamma, beta), weight)
    out, hw = seg(x.reshape(2, 24, c), (6, 4))
    assert hw == (3, 2)
    assert torch.allclose(out.view(2, 3, 2, out_c), ref, atol=1e-5)


def test_converters_are_registered_and_drop_classifier_keys() -> None:
    assert resolve("swin", "converters") is convert_official_swin
    assert resolve("torchvision-swin", "converters") is convert_torchvision_swin
    converted = convert_official_swin({"head.weight": torch.zeros(2, 2),
                                       "layers.0.blocks.1.attn_mask": torch.zeros(1),
                                       "patch_embed.proj.bias": torch.zeros(2)})
    assert list(converted) == ["patch_embed.projection.bias"]


def test_torchvision_v2_is_refused() -> None:
    with pytest.raises(ValueError, match="V2"):
        convert_torchvision_swin({"features.1.0.attn.logit_scale": torch.zeros(1)})
