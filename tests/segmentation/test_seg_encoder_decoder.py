"""EncoderDecoder: training step, whole / slide / augmented inference, channel checks."""
from __future__ import annotations

from typing import Any

import pytest
import torch

from segdet.errors import ConfigError, ShapeMismatchError
from segdet.models.decode_heads import BaseDecodeHead
from segdet.registry import build

CE = {"type": "SegTestCE"}
NUM_CLASSES = 3


def _fcn(**kw: Any) -> dict[str, Any]:
    cfg = {"type": "FCNHead", "channels": 8, "num_convs": 1, "concat_input": False, "num_classes": NUM_CLASSES,
           "dropout_ratio": 0.0, "loss_decode": CE}
    cfg.update(kw)
    return cfg


def _model(pointwise: bool = False, test_cfg: dict[str, Any] | None = None, **kw: Any) -> Any:
    cfg = {
        "type": "EncoderDecoder",
        "backbone": {"type": "SegTestBackbone", "pointwise": pointwise},
        "decode_head": _fcn(kernel_size=1 if pointwise else 3),
        "auxiliary_head": _fcn(in_index=0, loss_decode={"type": "SegTestCE", "loss_weight": 0.4}),
        "test_cfg": test_cfg or {"mode": "whole"},
    }
    cfg.update(kw)
    torch.manual_seed(0)
    return build(cfg, "segmentors")


def _metas(n: int, img_shape: tuple[int, int], ori_shape: tuple[int, int], flip: bool = False,
           direction: str = "horizontal") -> list[dict[str, Any]]:
    return [{"img_shape": (*img_shape, 3), "ori_shape": (*ori_shape, 3), "pad_shape": (*img_shape, 3),
             "flip": flip, "flip_direction": direction} for _ in range(n)]


def test_train_step_losses_and_gradients() -> None:
    model = _model()
    img = torch.randn(2, 3, 32, 32)
    gt = torch.randint(0, NUM_CLASSES, (2, 1, 32, 32))
    gt[:, :, :4] = 255
    out = model.train_step({"img": img, "img_metas": _metas(2, (32, 32), (32, 32)), "gt_semantic_seg": gt})
    assert set(out) == {"loss", "log_vars", "num_samples"}
    assert out["num_samples"] == 2
    logs = out["log_vars"]
    assert {"decode.loss_ce", "decode.acc_seg", "aux.loss_ce", "aux.acc_seg", "loss"} <= set(logs)
    assert logs["loss"] == pytest.approx(logs["decode.loss_ce"] + logs["aux.loss_ce"], rel=1e-5)
    assert 0 <= logs["decode.acc_seg"] <= 100
    out["loss"].backward()
    grads = [p.grad for p in model.backbone.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)


def test_auxiliary_head_list_prefixes() -> None:
    model = _model(auxiliary_head=[_fcn(in_index=0), _fcn(in_index=1)])
    losses = model.forward_train(torch.randn(2, 3, 16, 16), _metas(2, (16, 16), (16, 16)),
                                 torch.randint(0, NUM_CLASSES, (2, 1, 16, 16)))
    assert {"aux_0.loss_ce", "aux_1.loss_ce", "decode.loss_ce"} <= set(losses)
    assert "auxiliary_head.1.conv_seg.weight" in model.state_dict()


def test_in_channels_filled_and_checked() -> None:
    model = _model()
    assert model.decode_head.in_channels == 16 and model.auxiliary_head.in_channels == 8
    with pytest.raises(ShapeMismatchError, match="in_channels"):
        _model(decode_head=_fcn(in_channels=32))
    with pytest.raises(ConfigError, match="mode"):
        _model(test_cfg={"mode": "sliding"})


def test_whole_inference_undoes_padding_and_resize() -> None:
    model = _model().eval()
    img = torch.randn(2, 3, 32, 32)  # a 28x24 image resized from 14x12, padded to 32x32
    with torch.no_grad():
        out = model.simple_test(img, _metas(2, (28, 24), (14, 12)))
    assert len(out) == 2
    assert out[0].shape == (14, 12) and out[0].dtype == torch.long
    assert int(out[0].min()) >= 0 and int(out[0].max()) < NUM_CLASSES
    with torch.no_grad():
        probs = model.inference(img, _metas(2, (28, 24), (14, 12)), rescale=False)
    assert probs[0].shape == (NUM_CLASSES, 28, 24)
    torch.testing.assert_close(probs[0].sum(0), torch.ones(28, 24))


def test_slide_equals_whole_when_crop_covers_image() -> None:
    whole = _model().eval()
    slide = _model(test_cfg={"mode": "slide", "crop_size": (32, 32), "stride": (16, 16)}).eval()
    slide.load_state_dict(whole.state_dict())
    img = torch.randn(2, 3, 32, 32)
    metas = _metas(2, (32, 32), (32, 32))
    with torch.no_grad():
        a = whole.inference(img, metas)
        b = slide.inference(img, metas)
    for x, y in zip(a, b):
        torch.testing.assert_close(x, y)


def test_slide_overlapping_windows_average_to_whole_for_pointwise_model() -> None:
    whole = _model(pointwise=True).eval()
    slide = _model(pointwise=True, test_cfg={"mode": "slide", "crop_size": (16, 12), "stride": (10, 7)}).eval()
    slide.load_state_dict(whole.state_dict())
    img = torch.randn(2, 3, 37, 29)
    with torch.no_grad():
        logits_whole = whole.encode_decode(img, _metas(2, (37, 29), (37, 29)))
        logits_slide = slide.slide_inference(img, _metas(2, (37, 29), (37, 29)))
        out = slide.simple_test(img, _metas(2, (37, 29), (50, 40)))
    torch.testing.assert_close(logits_slide, logits_whole, rtol=1e-5, atol=1e-5)
    assert out[1].shape == (50, 40)


@pytest.mark.parametrize("direction,dims", [("horizontal", [3]), ("vertical", [2]), ("diagonal", [2, 3])])
def test_flipped_input_is_flipped_back(direction: str, dims: list[int]) -> None:
    model = _model(pointwise=True).eval()
    img = torch.randn(2, 3, 20, 24)
    with torch.no_grad():
        plain = model.inference(img, _metas(2, (20, 24), (20, 24)))
        flipped = model.inference(img.flip(dims=dims), _metas(2, (20, 24), (20, 24), True, direction))
    for a, b in zip(plain, flipped):
        torch.testing.assert_close(a, b)


def test_aug_test_merges_scales_and_flips() -> None:
    model = _model().eval()
    ori = (20, 30)
    imgs = [torch.randn(2, 3, 20, 30), torch.randn(2, 3, 32, 48), torch.randn(2, 3, 32, 48)]
    metas = [_metas(2, (20, 30), ori), _metas(2, (30, 45), ori), _metas(2, (30, 45), ori, flip=True)]
    with torch.no_grad():
        out = model(img=imgs, img_metas=metas, return_loss=False)
        single = model(img=imgs[:1], img_metas=metas[:1], return_loss=False)
        probs = [model.inference(i, m) for i, m in zip(imgs, metas)]
    assert len(out) == 2 and all(o.shape == ori and o.dtype == torch.long for o in out)
    expected = ((probs[0][0] + probs[1][0] + probs[2][0]) / 3).argmax(0)
    assert torch.equal(out[0], expected)
    assert torch.equal(single[0], probs[0][0].argmax(0))
    with pytest.raises(ValueError, match="rescale"):
        model.aug_test(imgs, metas, rescale=False)


def test_default_loss_is_cross_entropy() -> None:
    head = build({"type": "FCNHead", "in_channels": 8, "channels": 8, "num_classes": 3}, "heads")
    logit = torch.randn(2, 3, 8, 8)
    label = torch.randint(0, 3, (2, 1, 16, 16))
    label[0, 0, 0, 0] = 255
    losses = head.losses(logit, label)
    assert set(losses) == {"loss_ce", "acc_seg"}
    assert torch.isfinite(losses["loss_ce"]) and losses["loss_ce"] > 0


def test_base_head_input_transforms() -> None:
    class Probe(BaseDecodeHead):
        def forward(self, inputs: Any) -> Any:
            return self._transform_inputs(inputs)

    maps = [torch.randn(2, 4, 16, 16), torch.randn(2, 6, 8, 8), torch.randn(2, 8, 4, 4)]
    concat = Probe([4, 8], 8, num_classes=2, in_index=[0, 2], input_transform="resize_concat", loss_decode=CE)
    assert concat.in_channels == 12 and concat(maps).shape == (2, 12, 16, 16)
    select = Probe([6, 8], 8, num_classes=2, in_index=[1, 2], input_transform="multiple_select", loss_decode=CE)
    assert [m.shape[1] for m in select(maps)] == [6, 8]
    assert Probe(8, 8, num_classes=2, loss_decode=CE)(maps).shape == (2, 8, 4, 4)
    assert Probe(8, 8, num_classes=2, loss_decode=[CE, {"type": "SegTestCE", "loss_name": "loss_x"}]) \
        .loss_decode[1].loss_name == "loss_x"
    with pytest.raises(TypeError, match="input_transform"):
        Probe([4, 8], 8, num_classes=2, in_index=[0, 1], loss_decode=CE)
    with pytest.raises(ValueError, match="input_transform"):
        Probe(4, 8, num_classes=2, input_transform="concat", loss_decode=CE)


def test_losses_ignore_index_and_accuracy() -> None:
    head = build({"type": "FCNHead", "in_channels": 4, "channels": 4, "num_classes": 2, "loss_decode": CE},
                 "heads")
    logit = torch.zeros(1, 2, 2, 2)
    logit[0, 1] = 5.0  # predicts class 1 everywhere
    label = torch.tensor([[[[1, 1], [0, 255]]]])
    losses = head.losses(logit, label)
    assert losses["acc_seg"].item() == pytest.approx(200 / 3)
    assert torch.isfinite(losses["loss_ce"])


def test_several_losses_and_ohem_sampler() -> None:
    head = build({"type": "FCNHead", "in_channels": 8, "channels": 8, "num_classes": 3,
                  "loss_decode": [{"type": "CrossEntropyLoss", "loss_weight": 1.0},
                                  {"type": "DiceLoss", "use_sigmoid": False, "loss_weight": 3.0}],
                  "sampler": {"type": "OHEMPixelSampler", "thresh": 0.7, "min_kept": 20}}, "heads")
    logit = torch.randn(2, 3, 8, 8, requires_grad=True)
    label = torch.randint(0, 3, (2, 1, 16, 16))
    label[:, :, :3] = 255
    losses = head.losses(logit, label)
    assert set(losses) == {"loss_ce", "loss_dice", "acc_seg"}
    (losses["loss_ce"] + losses["loss_dice"]).backward()
    assert logit.grad is not None and torch.isfinite(logit.grad).all()
