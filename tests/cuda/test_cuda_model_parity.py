"""The same weights give the same detections on CUDA as on the CPU (through ``single_gpu_test``,
which moves batches to the model's device and results back), and in channels-last memory format
as in the default one (what bench/gpu.py measures)."""
from __future__ import annotations

import copy

import pytest
import torch

from segdet.data.builder import build_dataloader
from segdet.engine.test import single_gpu_test
from segdet.testing.toy_detection import ToyDataset


def _spread_scores(model: torch.nn.Module) -> torch.nn.Module:
    # A fresh head scores every anchor close to its 0.01 prior: near-ties would make the order of
    # detections depend on rounding. Larger class weights spread the scores apart.
    with torch.no_grad():
        model.bbox_head.retina_cls.weight.normal_(0.0, 1.0, generator=torch.Generator().manual_seed(1))
    return model.eval()


def _loader():
    return build_dataloader(ToyDataset(num=4, size=32, test_mode=True), samples_per_gpu=2,
                            workers_per_gpu=0, shuffle=False)


def _assert_same_detections(got: list[dict], want: list[dict]) -> None:
    assert len(got) == len(want) == 4
    for a, b in zip(got, want):
        assert a["bboxes"].device.type == "cpu"  # results come back to the host
        assert a["labels"].tolist() == b["labels"].tolist()
        assert torch.allclose(a["scores"], b["scores"], atol=1e-4)
        assert torch.allclose(a["bboxes"], b["bboxes"], atol=1e-3)


def _raw_outputs(model: torch.nn.Module, img: torch.Tensor) -> list[torch.Tensor]:
    with torch.no_grad():
        cls, reg = model.forward_dummy(img)
    return [t.float().cpu() for t in (*cls, *reg)]


def test_channels_last_gives_the_same_detections_on_the_cpu(tiny_retinanet):
    model = _spread_scores(tiny_retinanet())
    want = single_gpu_test(model, _loader())
    assert len(want[0]["labels"]) > 0
    last = copy.deepcopy(model).to(memory_format=torch.channels_last)
    assert last.backbone.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    _assert_same_detections(single_gpu_test(last, _loader()), want)


@pytest.mark.cuda
@pytest.mark.parametrize("channels_last", [False, True])
def test_cuda_detections_equal_the_cpu_ones(tiny_retinanet, channels_last):
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    model = _spread_scores(tiny_retinanet())
    want = single_gpu_test(model, _loader())
    on_gpu = copy.deepcopy(model).cuda()
    if channels_last:
        on_gpu = on_gpu.to(memory_format=torch.channels_last)
    img = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    for a, b in zip(_raw_outputs(on_gpu, img.cuda()), _raw_outputs(model, img)):
        assert torch.allclose(a, b, atol=1e-4, rtol=1e-4)
    _assert_same_detections(single_gpu_test(on_gpu, _loader()), want)
