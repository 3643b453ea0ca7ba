"""SwinTransformer: keys against MMDetection's, shapes, gradients, freezing, checkpointing."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from segdet_backbone_swin import SwinTransformer

from segdet.api import build
from segdet.testing.shared import reference_keys

REFERENCE_MODELS = [
    "swin/mask_rcnn_swin-t-p4-w7_fpn_1x_coco.py",
    "swin/upernet_swin_tiny_patch4_window7_512x512_160k_ade20k_pretrain_224x224_1K.py",
]


def tiny(**kwargs) -> SwinTransformer:
    cfg = dict(embed_dims=16, depths=(1, 1, 2, 1), num_heads=(1, 2, 2, 4), window_size=4,
               drop_path_rate=0.0)
    cfg.update(kwargs)
    return SwinTransformer(**cfg)


@pytest.mark.parametrize("model", REFERENCE_MODELS)
def test_keys_and_shapes_match_mmdetection(model: str) -> None:
    ref = reference_keys()[model]
    expected = {k[len("backbone."):]: v for k, v in ref.items() if k.startswith("backbone.")}
    own = {k: list(v.shape) for k, v in SwinTransformer().state_dict().items()}
    assert sorted(own) == sorted(expected)
    assert {k: v for k, v in own.items() if expected[k] != v} == {}


def test_relative_position_index_is_the_official_one() -> None:
    w = 3
    index = tiny(window_size=w).stages[0].blocks[0].attn.w_msa.relative_position_index
    coords = [(i, j) for i in range(w) for j in range(w)]
    for a, (ia, ja) in enumerate(coords):
        for b, (ib, jb) in enumerate(coords):
            assert index[a, b] == (ia - ib + w - 1) * (2 * w - 1) + (ja - jb + w - 1)


@pytest.mark.parametrize("size", [(64, 64), (50, 70), (33, 17), (4, 4)])
def test_output_shapes_any_input_size(size: tuple[int, int]) -> None:
    model = tiny().eval()
    outs = model(torch.rand(2, 3, *size))
    assert model.out_channels == [16, 32, 64, 128]
    assert model.strides == [4, 8, 16, 32]
    h, w = size
    for out, c, s in zip(outs, model.out_channels, model.strides):
        assert out.shape == (2, c, -(-h // s), -(-w // s))
        assert torch.isfinite(out).all()


def test_out_indices_select_outputs_and_norms() -> None:
    model = tiny(out_indices=(1, 3))
    assert model.out_channels == [32, 128] and model.strides == [8, 32]
    assert hasattr(model, "norm1") and not hasattr(model, "norm0")
    assert [o.shape[1] for o in model(torch.rand(1, 3, 32, 32))] == [32, 128]


def test_gradients_reach_every_parameter() -> None:
    model = tiny(use_abs_pos_embed=True, pretrain_img_size=32)
    outs = model(torch.rand(2, 3, 40, 36))  # not the pretraining size: the embedding is resized
    sum(o.square().mean() for o in outs).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert missing == []


def test_frozen_stages_get_no_gradient_and_stay_in_eval() -> None:
    model = tiny(frozen_stages=2, drop_path_rate=0.2).train()
    outs = model(torch.rand(2, 3, 32, 32))
    sum(o.mean() for o in outs[2:]).backward()
    for name, p in model.named_parameters():
        frozen = name.startswith(("patch_embed.", "stages.0.", "stages.1.", "norm0.", "norm1."))
        assert p.requires_grad is not frozen, name
        assert (p.grad is None) is frozen, name
    assert not model.stages[1].training and model.stages[2].training


def test_with_cp_matches_plain_forward_and_backward() -> None:
    torch.manual_seed(0)
    plain = tiny().train()
    checkpointed = tiny(with_cp=True).train()
    checkpointed.load_state_dict(plain.state_dict())
    x = torch.rand(2, 3, 36, 28, requires_grad=True)
    grads = []
    for model in (plain, checkpointed):
        outs = model(x)
        sum(o.sum() for o in outs).backward()
        grads.append(([o.detach() for o in outs], x.grad.clone(),
                      [p.grad.clone() for p in model.parameters()]))
        x.grad = None
    (o1, gx1, gp1), (o2, gx2, gp2) = grads
    assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(o1, o2))
    assert torch.allclose(gx1, gx2, atol=1e-5)
    assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(gp1, gp2))
    assert tiny(use_checkpoint=True).stages[0].blocks[0].with_cp


def test_aliases() -> None:
    assert tiny(ape=True).use_abs_pos_embed
    assert "absolute_pos_embed" in tiny(ape=True).state_dict()
    assert "absolute_pos_embed" not in tiny(ape=False).state_dict()
    with pytest.raises(ValueError, match="alias"):
        tiny(use_abs_pos_embed=True, ape=False)


def test_pretrained_checkpoint_roundtrip(tmp_path: Path) -> None:
    source = tiny()
    path = tmp_path / "det.pth"
    torch.save({"state_dict": {"backbone." + k: v for k, v in source.state_dict().items()}}, path)
    loaded = tiny(init_cfg=dict(type="Pretrained", checkpoint=str(path)))
    x = torch.rand(1, 3, 32, 32)
    assert not torch.equal(source.eval()(x)[0], loaded.eval()(x)[0])  # construction reads nothing
    loaded.init_weights()
    assert all(torch.equal(a, b) for a, b in zip(source(x), loaded.eval()(x)))


def test_construction_reads_no_file_and_init_weights_names_it(tmp_path: Path) -> None:
    model = tiny(pretrained=str(tmp_path / "missing.pth"))
    with pytest.raises(Exception, match="missing.pth"):
        model.init_weights()


def test_convert_weights_loads_official_keys(tmp_path: Path) -> None:
    source = tiny()
    official = {}
    for key, value in source.state_dict().items():  # segdet -> official names (test-only inverse)
        key = key.replace("attn.w_msa.", "attn.").replace("ffn.layers.0.0.", "mlp.fc1.")
        key = key.replace("ffn.layers.1.", "mlp.fc2.").replace("patch_embed.projection", "patch_embed.proj")
        if ".downsample." in key:  # unfold order -> official [x(0,0), x(1,0), x(0,1), x(1,1)] blocks
            if key.endswith("reduction.weight"):
                value = value.reshape(value.shape[0], -1, 4)[:, :, [0, 2, 1, 3]].transpose(1, 2)
                value = value.reshape(value.shape[0], -1)
            else:
                value = value.reshape(-1, 4)[:, [0, 2, 1, 3]].t().reshape(-1)
        official[key.replace("stages.", "layers.", 1).replace("norm3.", "norm.")] = value
    official = {k: v for k, v in official.items() if not k.startswith(("norm0", "norm1", "norm2"))}
    path = tmp_path / "official.pth"
    torch.save({"model": official}, path)
    model = tiny(convert_weights=True, init_cfg=dict(type="Pretrained", checkpoint=str(path)))
    with pytest.warns(UserWarning, match="missing keys"):
        model.init_weights()
    for key, value in source.state_dict().items():
        if not key.startswith(("norm0", "norm1", "norm2")):
            assert torch.equal(model.state_dict()[key], value), key


def test_pretrained_bias_tables_are_resized(tmp_path: Path) -> None:
    path = tmp_path / "w4.pth"
    source = tiny(window_size=4)
    torch.save(source.state_dict(), path)
    model = tiny(window_size=6, pretrained=str(path))
    model.init_weights()
    key = "stages.0.blocks.0.attn.w_msa.relative_position_bias_table"
    old = source.state_dict()[key]  # (7*7, heads)
    expected = torch.nn.functional.interpolate(old.t().reshape(1, -1, 7, 7), size=(11, 11), mode="bicubic")
    assert torch.allclose(model.state_dict()[key], expected.reshape(-1, 121).t())


def test_build_from_config_by_entry_point() -> None:
    model = build(dict(type="SwinTransformer", embed_dims=16, depths=(1, 1, 1, 1),
                       num_heads=(1, 1, 2, 2), window_size=4, ape=False), "backbones")
    assert isinstance(model, SwinTransformer)
    assert model.out_channels == [16, 32, 64, 128]


def test_pretrained_position_embedding_is_resized(tmp_path: Path) -> None:
    path = tmp_path / "ape32.pth"
    torch.save(tiny(ape=True, pretrain_img_size=32).state_dict(), path)  # 8x8 grid
    model = tiny(ape=True, pretrain_img_size=48, pretrained=str(path))  # 12x12 grid
    model.init_weights()
    assert model.absolute_pos_embed.shape == (1, 144, 16)
    assert model(torch.rand(1, 3, 48, 48))[0].shape == (1, 16, 12, 12)
