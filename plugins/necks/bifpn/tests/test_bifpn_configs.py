"""The BiFPN configs shipped in configs/: they build, strides agree with the anchors, they train."""
from __future__ import annotations

from pathlib import Path

import torch

from segdet import Config, build_model

ROOT = Path(__file__).resolve().parents[4]


def test_retinanet_r50_bifpn_config_builds() -> None:
    cfg = Config.fromfile(str(ROOT / "configs/retinanet/retinanet_r50_bifpn_1x_coco.py"))
    assert "add_extra_convs" not in cfg.model.neck  # _delete_ replaced the FPN section
    model = build_model(cfg.model)
    assert type(model.neck).__name__ == "BiFPN" and len(model.neck.layers) == 3
    assert model.neck.in_channels == [256, 512, 1024, 2048]
    assert model.neck.strides == list(cfg.model.bbox_head.anchor_generator.strides)


def test_retinanet_r18_bifpn_shapes_config_trains_one_step() -> None:
    cfg = Config.fromfile(str(ROOT / "configs/retinanet/retinanet_r18_bifpn_shapes.py"))
    model = build_model(cfg.model)
    assert model.neck.strides == list(cfg.model.bbox_head.anchor_generator.strides) == [8, 16, 32]
    model.init_weights()
    model.train()
    metas = [dict(img_shape=(64, 64, 3), pad_shape=(64, 64, 3), ori_shape=(64, 64, 3),
                  scale_factor=[1.0, 1.0, 1.0, 1.0], flip=False, filename=f"{i}.png") for i in range(2)]
    out = model.train_step(dict(
        img=torch.rand(2, 3, 64, 64), img_metas=metas,
        gt_bboxes=[torch.tensor([[4.0, 6.0, 30.0, 40.0]]), torch.tensor([[10.0, 10.0, 50.0, 60.0]])],
        gt_labels=[torch.tensor([0]), torch.tensor([2])]))
    assert torch.isfinite(out["loss"]) and out["log_vars"]["loss_bbox"] > 0
    out["loss"].backward()
    assert all(p.grad is not None for p in model.neck.parameters())
