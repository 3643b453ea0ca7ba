"""segdet.apis.speedups: BatchNorm folding, channels-last and torch.compile on tiny real models
(ResNet-18 RetinaNet and PSPNet of base width 8), against the plain eval forward."""
from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest
import torch
from torch import nn

from segdet import Config, build_model
from segdet.apis import speedups
from segdet.apis.speedups import (
    CompileUnavailableError,
    check_compile_available,
    compile_failure,
    compile_model,
    fuse_conv_bn,
    to_channels_last,
)

ROOT = Path(__file__).resolve().parents[2]
BN_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)


def _randomize_norms(model: nn.Module, seed: int = 0) -> None:
    """Non-trivial statistics and affine values, so that folding has something to get wrong."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                n = m.num_features
                m.running_mean.copy_(torch.rand(n, generator=gen) - 0.5)
                m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
                if m.affine:
                    m.weight.copy_(torch.rand(n, generator=gen) + 0.5)
                    m.bias.copy_(torch.rand(n, generator=gen) - 0.5)


def tiny_retinanet(head_norm: str = "BN") -> nn.Module:
    """RetinaNet with ResNet-18 of base width 8, FPN 16 wide, a head with ``head_norm`` towers."""
    cfg = Config.fromfile(str(ROOT / "configs/retinanet/retinanet_r18_fpn_shapes.py"))
    model_cfg = copy.deepcopy(cfg.model.to_dict() if hasattr(cfg.model, "to_dict") else dict(cfg.model))
    model_cfg["backbone"].update(base_channels=8)
    model_cfg["neck"].update(in_channels=[16, 32, 64], out_channels=16)
    head_norm_cfg = dict(type="BN") if head_norm == "BN" else dict(type="GN", num_groups=4)
    model_cfg["bbox_head"].update(in_channels=16, feat_channels=16, norm_cfg=head_norm_cfg)
    torch.manual_seed(0)
    model = build_model(model_cfg)
    _randomize_norms(model)
    return model.eval()


def tiny_pspnet() -> nn.Module:
    """PSPNet ResNetV1c-18-D8 of base width 8 (deep stem in a Sequential), BN in both heads."""
    cfg = Config.fromfile(str(ROOT / "configs/pspnet/pspnet_r18-d8_shapes.py"))
    model_cfg = copy.deepcopy(cfg.model.to_dict() if hasattr(cfg.model, "to_dict") else dict(cfg.model))
    model_cfg["backbone"].update(base_channels=8)
    model_cfg["decode_head"].update(in_channels=64, channels=16)
    model_cfg["auxiliary_head"].update(in_channels=32, channels=8)
    torch.manual_seed(0)
    model = build_model(model_cfg)
    _randomize_norms(model, seed=1)
    return model.eval()


def _count_bn(model: nn.Module) -> int:
    return sum(isinstance(m, BN_TYPES) for m in model.modules())


def _image(seed: int = 0) -> torch.Tensor:
    return torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(seed))


def _det_outputs(model: nn.Module, img: torch.Tensor) -> list[torch.Tensor]:
    with torch.no_grad():
        cls_scores, bbox_preds = model.forward_dummy(img)
    return [*cls_scores, *bbox_preds]


def _seg_metas() -> list[dict]:
    meta = dict(img_shape=(64, 64, 3), ori_shape=(64, 64, 3), pad_shape=(64, 64, 3), flip=False)
    return [dict(meta), dict(meta)]


def _seg_output(model: nn.Module, img: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model.encode_decode(img, _seg_metas())


def _assert_close(got: list[torch.Tensor], want: list[torch.Tensor], atol: float = 1e-5) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape
        assert (g - w).abs().max().item() <= atol, (g - w).abs().max().item()


# -- fuse_conv_bn ----------------------------------------------------------------------------------

def test_fuse_retinanet_folds_every_batchnorm_and_keeps_outputs():
    model = tiny_retinanet("BN")
    img = _image()
    want = _det_outputs(model, img)
    n_bn = _count_bn(model)
    # ResNet-18: stem 1 + 8 blocks x 2 + 3 shortcut Sequentials; head: 2 stacked ConvModules x 2 branches
    assert n_bn == 1 + 16 + 3 + 4
    assert fuse_conv_bn(model) == n_bn
    assert _count_bn(model) == 0
    assert model.backbone.layer2[0].downsample[1].__class__ is nn.Identity  # Sequential pair
    assert model.bbox_head.cls_convs[0].conv.bias is not None  # ConvModule pair: the conv gained a bias
    _assert_close(_det_outputs(model, img), want)
    assert fuse_conv_bn(model) == 0  # nothing left to fold


def test_fuse_segmentor_keeps_outputs():
    model = tiny_pspnet()
    img = _image(1)
    want = _seg_output(model, img)
    n_bn = _count_bn(model)
    assert isinstance(model.backbone.stem, nn.Sequential)
    assert fuse_conv_bn(model) == n_bn > 20
    got = _seg_output(model, img)
    assert got.shape == (2, 4, 64, 64)
    _assert_close([got], [want])


def test_fuse_skips_batchnorm_in_training_mode_and_folds_frozen_ones():
    model = tiny_retinanet("GN")
    model.train()  # live BatchNorm: batch statistics, nothing may be folded
    with pytest.warns(UserWarning, match="call model.eval"):
        assert fuse_conv_bn(model) == 0
    assert _count_bn(model) == 20
    # norm_eval-style freezing: the BatchNorm layers normalise with running statistics in train mode
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.eval()
    img = _image(2)
    model.eval()
    want = _det_outputs(model, img)
    model.train()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.eval()
    assert fuse_conv_bn(model) == 20
    model.eval()
    _assert_close(_det_outputs(model, img), want)


class _Unpaired(nn.Module):
    """A conv and a BatchNorm registered one after the other, but the BatchNorm normalises the
    input, not the conv's output: names that do not pair must keep it unfolded."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Conv2d(4, 4, 1)
        self.input_bn = nn.BatchNorm2d(4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(self.input_bn(x))


class _WeightStandardizedConv(nn.Conv2d):
    """Normalises its weight on every call: a BatchNorm scale folded into it would be undone."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight
        w = (w - w.mean(dim=(1, 2, 3), keepdim=True)) / (w.std(dim=(1, 2, 3), keepdim=True) + 1e-5)
        return self._conv_forward(x, w, self.bias)


def test_fuse_leaves_what_is_not_a_conv_bn_pair():
    model = nn.Sequential(nn.BatchNorm2d(3), nn.Conv2d(3, 4, 3), _Unpaired(),
                          nn.Conv2d(4, 6, 1), nn.BatchNorm2d(4, affine=False)).eval()
    _randomize_norms(model.get_submodule("2"))
    assert fuse_conv_bn(model) == 0  # BN before conv; names unpaired; 6 channels vs 4 features
    ws = nn.Sequential(_WeightStandardizedConv(3, 4, 3), nn.BatchNorm2d(4)).eval()
    assert fuse_conv_bn(ws) == 0 and isinstance(ws[1], nn.BatchNorm2d)
    plain = nn.Sequential(nn.Conv2d(3, 4, 3, bias=False), nn.BatchNorm2d(4, affine=False), nn.ReLU()).eval()
    _randomize_norms(plain)
    x = _image(3)
    with torch.no_grad():
        want = plain(x)
        assert fuse_conv_bn(plain) == 1
        _assert_close([plain(x)], [want])


def test_fuse_folds_torchvision_frozen_batchnorm():
    from torchvision.ops.misc import FrozenBatchNorm2d

    model = nn.Sequential(nn.Conv2d(3, 8, 3), FrozenBatchNorm2d(8))
    with torch.no_grad():
        model[1].running_mean.uniform_(-1, 1)
        model[1].running_var.uniform_(0.5, 2)
        model[1].weight.uniform_(0.5, 2)
    x = _image(4)
    with torch.no_grad():
        want = model(x)
        assert fuse_conv_bn(model) == 1
        _assert_close([model(x)], [want])


# -- channels-last ---------------------------------------------------------------------------------

def test_channels_last_detector_outputs_equal_and_layout_changed():
    model = tiny_retinanet("BN")
    img = _image(5)
    want = _det_outputs(model, img)
    assert to_channels_last(model) is model
    to_channels_last(model)  # twice: still one input hook
    assert len(model.backbone._forward_pre_hooks) == 1
    assert model.backbone.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    seen = []
    model.backbone.conv1.register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    got = _det_outputs(model, img.contiguous())
    assert seen[0].is_contiguous(memory_format=torch.channels_last)
    _assert_close(got, want, atol=1e-4)


def test_channels_last_with_fusion_on_a_segmentor_and_in_a_training_step():
    model = tiny_pspnet()
    img = _image(6)
    want = _seg_output(model, img)
    fuse_conv_bn(model)
    to_channels_last(model)
    _assert_close([_seg_output(model, img)], [want], atol=1e-4)
    # training: the loss and the gradients reach the channels-last weights
    train_model = tiny_pspnet().train()
    to_channels_last(train_model)
    gt = torch.randint(0, 4, (2, 1, 64, 64), generator=torch.Generator().manual_seed(0))
    losses = train_model.forward_train(img, _seg_metas(), gt)
    sum(v for k, v in losses.items() if "loss" in k).backward()
    grad = train_model.backbone.stem[0].weight.grad
    assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0


# -- torch.compile ---------------------------------------------------------------------------------

def test_compile_keeps_state_dict_keys_and_compiles_backbone_and_neck_only():
    model = tiny_retinanet("GN")
    keys = list(model.state_dict())
    parts = compile_model(model, check=False)  # compilation itself waits for the first forward
    assert parts == ["backbone", "neck"]
    assert list(model.state_dict()) == keys
    assert not any("_orig_mod" in k for k in model.state_dict())
    assert model.backbone._compiled_call_impl is not None
    assert model.bbox_head._compiled_call_impl is None  # post-processing lives there: stays eager
    with pytest.raises(speedups.SegdetError, match="parts=None for the whole model"):
        compile_model(nn.Sequential(nn.Conv2d(3, 3, 1)), check=False)


def test_compile_without_a_cxx_compiler_is_a_clear_error():
    from torch._inductor import config as inductor_config

    with inductor_config.patch({"cpp.cxx": (None, "/nonexistent/bin/g++")}), \
            pytest.raises(CompileUnavailableError) as info:
        compile_model(tiny_retinanet("GN"), device="cpu")
    message = str(info.value)
    assert "--compile" in message and "no working C++ compiler" in message
    assert "/nonexistent/bin/g++" in message and "apt-get install g++" in message
    assert "leave --compile out" in message


def test_compile_on_an_unsupported_python_is_a_clear_error(monkeypatch):
    import torch._dynamo.eval_frame as eval_frame

    def unsupported() -> None:
        raise RuntimeError("Python 3.99+ not yet supported for torch.compile")

    monkeypatch.setattr(eval_frame, "check_if_dynamo_supported", unsupported)
    with pytest.raises(CompileUnavailableError, match=r"Python 3\.99\+ not yet supported.*Fix: use a Python"):
        check_compile_available("inductor", "cpu", smoke_test=False)


def test_a_failing_backend_in_the_smoke_test_is_a_clear_error(monkeypatch):
    def broken_compile(fn, **kwargs):
        def run(*args):
            from torch._dynamo.exc import InternalTorchDynamoError

            raise InternalTorchDynamoError("fatal error: Python.h: No such file or directory")
        return run

    monkeypatch.setattr(torch, "compile", broken_compile)
    with pytest.raises(CompileUnavailableError, match="Python.h: No such file"):
        check_compile_available("inductor", "cpu")


def test_compile_failure_recognises_torch_compile_errors_only():
    from torch._dynamo.exc import InternalTorchDynamoError

    clear = compile_failure(InternalTorchDynamoError("graph broke\nlong details"))
    assert isinstance(clear, CompileUnavailableError)
    assert "InternalTorchDynamoError: graph broke" in str(clear) and "long details" not in str(clear)
    assert compile_failure(ValueError("a bug of the model")) is None


def _compile_works() -> bool:
    try:
        check_compile_available("inductor", "cpu", smoke_test=False)
    except CompileUnavailableError:
        return False
    return True


@pytest.mark.slow
@pytest.mark.skipif(not _compile_works(), reason="torch.compile's inductor toolchain is not available here")
def test_compiled_model_gives_equal_outputs_trains_and_saves_plain_checkpoints(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "inductor"))
    from segdet.engine.checkpoint import load_checkpoint, save_checkpoint

    model = tiny_retinanet("GN")
    img = _image(7)
    want = _det_outputs(model, img)
    assert compile_model(model, device="cpu") == ["backbone", "neck"]
    _assert_close(_det_outputs(model, img), want, atol=1e-4)
    # one training step through the compiled parts, then a checkpoint an uncompiled model loads
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    out = model.train_step(dict(img=img, img_metas=[dict(img_shape=(64, 64, 3), pad_shape=(64, 64, 3),
                                                          ori_shape=(64, 64, 3), scale_factor=1.0, flip=False)] * 2,
                                gt_bboxes=[torch.tensor([[4.0, 4.0, 30.0, 30.0]])] * 2,
                                gt_labels=[torch.tensor([1])] * 2), opt)
    out["loss"].backward()
    assert model.backbone.conv1.weight.grad is not None
    opt.step()
    path = str(tmp_path / "compiled.pth")
    save_checkpoint(model, path)
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    assert not any("_orig_mod" in k for k in ckpt["state_dict"])
    plain = tiny_retinanet("GN")
    load_checkpoint(plain, path, map_location="cpu", strict=True)
    model.eval()
    _assert_close(_det_outputs(plain, img), _det_outputs(model, img), atol=1e-4)
    assert os.path.isdir(tmp_path / "inductor")
