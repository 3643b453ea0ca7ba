# Semantic FPN (FPN neck + FPNHead) with a narrow ResNet-18 (ResNetV1c, base width 16, strides 4-32) on the
# 128-px shapes set, from scratch, batch 8, 400 iterations (a fifth of
# configs/pspnet/pspnet_r18-d8_shapes.py's schedule: the shared machine was too loaded for 2000):
#   segdet data shapes --out data/shapes --seed 0 --num-train 600 --num-val 100
#   segdet train configs/sem_fpn/fpn_r18_shapes.py --seed 0
# MEASURED: mIoU 0.257 on shapes val after 400 iterations (background 0.902, circle 0.103, square 0.024,
# triangle 0.000) in 35 min 36 s wall time.
# Trained once (`--seed 0`, OMP_NUM_THREADS=1) on a heavily loaded shared 2-core machine (load average 10-16),
# five trainings at once: this config, the other three new heads' shapes configs and
# configs/pspnet/pspnet_r18-d8_shapes.py with the same 400-iteration schedule (--cfg-options runner.max_iters=400
# evaluation.interval=400 checkpoint_config.interval=400) as the same-budget baseline: PSPNet reached mIoU 0.342
# (circle 0.21, square 0.23, triangle 0.00) in 52 min 9 s under that load.
_base_ = [
    '../_base_/models/fpn_r50.py', '../_base_/datasets/shapes_semantic.py',
    '../_base_/seg_runtime.py', '../_base_/schedules/schedule_20k.py'
]
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    pretrained=None,
    backbone=dict(depth=18, base_channels=16, norm_cfg=norm_cfg),
    neck=dict(in_channels=[16, 32, 64, 128], out_channels=32),
    decode_head=dict(in_channels=[32, 32, 32, 32], channels=32, num_classes=4, norm_cfg=norm_cfg))
optimizer = dict(lr=0.05)
runner = dict(type='IterBasedRunner', max_iters=400)
checkpoint_config = dict(by_epoch=False, interval=400, max_keep_ckpts=1)
evaluation = dict(interval=400, metric='mIoU')
log_config = dict(interval=50)
cudnn_benchmark = False
