"""CascadeEncoderDecoder: head i gets head i-1's logits, per-stage losses, channel filling, errors."""
from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest
import torch

from segdet.errors import ConfigError
from segdet.models.decode_heads import BaseDecodeHead, resize
from segdet.registry import build, register, unregister

CE = {"type": "SegTestCE"}
NUM_CLASSES = 3


class _AddPrevHead(BaseDecodeHead):
    """Stand-in cascade head: its logits plus the previous stage's, so the chaining is observable."""

    def __init__(self, in_channels: int, channels: int = 8, *, num_classes: int = NUM_CLASSES,
                 in_index: int = -1, loss_decode: Mapping[str, Any] = CE, dropout_ratio: float = 0.0) -> None:
        super().__init__(in_channels, channels, num_classes=num_classes, in_index=in_index,
                         loss_decode=loss_decode, dropout_ratio=dropout_ratio)
        self.proj = torch.nn.Conv2d(in_channels, channels, 1)
        self.seen: list[torch.Tensor] = []
        self.inited = False

    def init_weights(self) -> None:
        self.inited = True

    def forward(self, inputs: Sequence[torch.Tensor], prev_output: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        self.seen.append(prev_output)
        x = self._transform_inputs(inputs)
        own = self.cls_seg(self.proj(x))
        return own + resize(prev_output, own.shape[2:])

    def forward_train(self, inputs: Any, prev_output: Any, img_metas: Any, gt_semantic_seg: Any,  # type: ignore[override]
                      train_cfg: Any = None) -> dict[str, torch.Tensor]:
        return self.losses(self(inputs, prev_output), gt_semantic_seg)

    def forward_test(self, inputs: Any, prev_output: Any, img_metas: Any, test_cfg: Any = None) -> torch.Tensor:  # type: ignore[override]
        return self(inputs, prev_output)


@pytest.fixture(autouse=True)
def _cascade_head() -> Iterator[None]:
    register("heads", "AddPrevTestHead", force=True)(_AddPrevHead)
    yield
    unregister("heads", "AddPrevTestHead")


def _fcn(**kw: Any) -> dict[str, Any]:
    cfg = {"type": "FCNHead", "channels": 8, "num_convs": 1, "concat_input": False, "num_classes": NUM_CLASSES,
           "dropout_ratio": 0.0, "loss_decode": CE}
    cfg.update(kw)
    return cfg


def _model(num_stages: int = 2, **kw: Any) -> Any:
    heads = [_fcn(in_index=0)] + [{"type": "AddPrevTestHead", "in_index": 1} for _ in range(num_stages - 1)]
    cfg = {"type": "CascadeEncoderDecoder", "num_stages": num_stages, "backbone": {"type": "SegTestBackbone"},
           "decode_head": heads, "auxiliary_head": _fcn(in_index=1, loss_decode={"type": "SegTestCE", "loss_weight": 0.4})}
    cfg.update(kw)
    torch.manual_seed(0)
    return build(cfg, "segmentors")


def _metas(n: int, size: int) -> list[dict[str, Any]]:
    return [{"img_shape": (size, size, 3), "ori_shape": (size, size, 3), "pad_shape": (size, size, 3),
             "flip": False} for _ in range(n)]


def test_heads_are_a_module_list_with_filled_in_channels() -> None:
    model = _model()
    assert isinstance(model.decode_head, torch.nn.ModuleList) and len(model.decode_head) == 2
    assert model.decode_head[0].in_channels == 8 and model.decode_head[1].in_channels == 16
    keys = set(model.state_dict())
    assert "decode_head.0.conv_seg.weight" in keys and "decode_head.1.proj.weight" in keys
    assert model.num_classes == NUM_CLASSES
    model.init_weights()
    assert model.decode_head[1].inited


def test_train_step_has_a_loss_per_stage_and_chains_logits() -> None:
    model = _model(num_stages=3)
    img = torch.randn(2, 3, 32, 32)
    gt = torch.randint(0, NUM_CLASSES, (2, 1, 32, 32))
    out = model.train_step({"img": img, "img_metas": _metas(2, 32), "gt_semantic_seg": gt})
    logs = out["log_vars"]
    assert {"decode_0.loss_ce", "decode_1.loss_ce", "decode_2.loss_ce", "aux.loss_ce"} <= set(logs)
    want = logs["decode_0.loss_ce"] + logs["decode_1.loss_ce"] + logs["decode_2.loss_ce"] + logs["aux.loss_ce"]
    assert logs["loss"] == pytest.approx(want, rel=1e-5)
    out["loss"].backward()
    # the last stage's loss reaches the first head through prev_output, as in MMSegmentation
    assert model.decode_head[0].conv_seg.weight.grad.abs().sum() > 0
    assert all(p.grad is not None for p in model.backbone.parameters())


def test_inference_feeds_each_stage_the_previous_logits() -> None:
    model = _model().eval()
    img = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        x = model.extract_feat(img)
        first = model.decode_head[0](x)
        model.decode_head[1].seen.clear()
        logits = model.encode_decode(img, _metas(2, 32))
        torch.testing.assert_close(model.decode_head[1].seen[0], first)
        last = model.decode_head[1](x, first)
    assert logits.shape == (2, NUM_CLASSES, 32, 32)
    torch.testing.assert_close(logits, torch.nn.functional.interpolate(last, size=(32, 32), mode="bilinear",
                                                                        align_corners=False))
    preds = model.simple_test(img, _metas(2, 32))
    assert [tuple(p.shape) for p in preds] == [(32, 32), (32, 32)]


def test_config_errors() -> None:
    two_heads = [_fcn(in_index=0), {"type": "AddPrevTestHead", "in_index": 1}]
    with pytest.raises(ConfigError, match="num_stages=3"):
        build({"type": "CascadeEncoderDecoder", "num_stages": 3, "backbone": {"type": "SegTestBackbone"},
               "decode_head": two_heads}, "segmentors")
    with pytest.raises(ConfigError, match="list of head configs"):
        build({"type": "CascadeEncoderDecoder", "num_stages": 1, "backbone": {"type": "SegTestBackbone"},
               "decode_head": _fcn()}, "segmentors")
