"""Mixed precision through the real runner: autocast on the model's device, the GradScaler in
OptimizerHook (overflow skips the step and halves the scale, finite steps update the weights) and
the scaler state in EpochBasedRunnerAmp checkpoints. The same body runs with float16 on the CPU
(torch supports float16 autocast and a CPU GradScaler) and on CUDA where a GPU is present."""
from __future__ import annotations

import logging
import math

import pytest
import torch

from segdet.engine.amp import AmpSettings, amp_settings
from segdet.engine.hooks.optimizer import OptimizerHook
from segdet.engine.runner import EpochBasedRunnerAmp
from tests.cuda.cuda_helpers import DEVICES, tiny_batch

LOG = logging.getLogger("segdet")


def _fp16(device: str) -> AmpSettings:
    if device == "cuda":  # the path `fp16=dict(loss_scale='dynamic')` takes on a GPU
        return amp_settings(dict(loss_scale="dynamic"), device)
    # amp_settings turns float16 on a CPU into bfloat16; ask for float16 directly to run the scaler
    return AmpSettings(enabled=True, device_type="cpu", dtype=torch.float16, loss_scale="dynamic")


class _Recorder:
    """After OptimizerHook: the scale after each iteration; after the first, a sane scale."""

    priority = "LOW"

    def __init__(self, sane_scale: float) -> None:
        self.scales: list[float] = []
        self.losses: list[float] = []
        self.sane_scale = sane_scale

    def after_train_iter(self, runner) -> None:
        self.scales.append(runner.grad_scaler.get_scale())
        self.losses.append(float(runner.outputs["loss"].detach()))
        if len(self.scales) == 1:
            runner.grad_scaler.update(new_scale=self.sane_scale)


@pytest.mark.parametrize("device", DEVICES)
def test_fp16_scaler_skips_overflow_then_steps_with_finite_grads(device, tiny_retinanet, tmp_path):
    model = tiny_retinanet().to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    runner = EpochBasedRunnerAmp(model, optimizer, work_dir=str(tmp_path), logger=LOG, max_epochs=1,
                                 device=device, amp=_fp16(device))
    runner.show_progress = False
    scaler = runner.grad_scaler
    assert isinstance(scaler, torch.amp.GradScaler) and scaler.is_enabled()
    runner.register_hook(OptimizerHook(grad_clip=dict(max_norm=35.0)))  # clipping unscales first
    recorder = _Recorder(sane_scale=256.0)
    runner.register_hook(recorder)
    stepped: list[bool] = []  # one entry per real optimizer step: were all (unscaled) grads finite?
    optimizer.register_step_pre_hook(lambda opt, args, kwargs: stepped.append(all(
        bool(torch.isfinite(p.grad).all()) for g in opt.param_groups for p in g["params"] if p.grad is not None)))
    conv_dtypes: list[torch.dtype] = []
    model.backbone.conv1.register_forward_hook(lambda m, i, o: conv_dtypes.append(o.dtype))

    # 2**60 overflows float16 gradients: the first step is skipped and the scale halves
    scaler.scale(torch.ones((), device=device))  # the scaler creates its state lazily
    scaler.update(new_scale=2.0**60)
    first = {n: p.detach().clone() for n, p in model.named_parameters()}
    runner.run([[tiny_batch(0), tiny_batch(1), tiny_batch(2)]], [("train", 1)])

    assert set(conv_dtypes) == {torch.float16}, "autocast did not run the convolutions in float16"
    assert all(math.isfinite(x) for x in recorder.losses)
    assert recorder.scales[0] == 2.0**59  # backed off once
    assert recorder.scales[1:] == [256.0, 256.0]  # finite steps keep the scale (growth every 2000)
    assert stepped == [True, True]  # iterations 2 and 3 stepped, with finite unscaled gradients
    assert all(p.device.type == device for p in model.parameters())
    changed = [n for n, p in model.named_parameters() if not torch.equal(p.detach(), first[n])]
    assert "bbox_head.retina_cls.weight" in changed and "backbone.conv1.weight" in changed

    path = runner.save_checkpoint(str(tmp_path))
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    assert ckpt["amp"]["scale"] == ckpt["grad_scaler"]["scale"] == 256.0


@pytest.mark.cuda
def test_amp_settings_give_a_float16_cuda_scaler():
    settings = amp_settings(dict(loss_scale=512.0), "cuda")
    scaler = settings.make_scaler()
    assert settings.dtype == torch.float16 and scaler.is_enabled() and scaler.get_scale() == 512.0
    with settings.autocast():
        y = torch.nn.functional.linear(torch.randn(2, 4, device="cuda"), torch.randn(3, 4, device="cuda"))
    assert y.dtype == torch.float16


def test_amp_settings_for_cuda_are_decided_without_a_gpu():
    dynamic = amp_settings(dict(loss_scale="dynamic"), "cuda")
    assert (dynamic.device_type, dynamic.dtype, dynamic.loss_scale) == ("cuda", torch.float16, "dynamic")
    static = amp_settings(dict(loss_scale=512.0), torch.device("cuda", 1))
    assert (static.device_type, static.loss_scale) == ("cuda", 512.0)
    bf16 = amp_settings(dict(dtype="bfloat16"), "cuda")
    assert bf16.dtype == torch.bfloat16 and bf16.loss_scale is None and bf16.make_scaler() is None
    with pytest.raises(ValueError, match="unknown keys.*loss_scale, dtype"):
        amp_settings(dict(loss_scale="dynamic", init_scale=2.0), "cuda")


def test_static_loss_scale_never_moves_on_the_cpu_float16_path():
    scaler = AmpSettings(True, "cpu", torch.float16, 512.0).make_scaler()
    w = torch.nn.Parameter(torch.ones(3))
    opt = torch.optim.SGD([w], lr=0.1)
    for value in (float("inf"), 1.0):  # an overflowing step and a finite one
        opt.zero_grad()
        scaler.scale((w * value).sum()).backward()
        scaler.step(opt)
        scaler.update()
        assert scaler.get_scale() == 512.0
    assert torch.allclose(w.detach(), torch.full((3,), 0.9))  # only the finite step was taken
