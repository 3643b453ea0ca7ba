# DeepLabV3+ with a narrow ResNet-18-D8 (ResNetV1c, base width 16) on the 128-px shapes set, from scratch,
# batch 8, 400 iterations (a fifth of
# configs/pspnet/pspnet_r18-d8_shapes.py's schedule: the shared machine was too loaded for 2000):
#   segdet data shapes --out data/shapes --seed 0 --num-train 600 --num-val 100
#   segdet train configs/deeplabv3plus/deeplabv3plus_r18-d8_shapes.py --seed 0
# Dilations (1, 3, 6, 9) instead of (1, 12, 24, 36): the deep map of a 128-px image is 16x16, where
# rates of 24 and 36 would only see padding.
# MEASURED: mIoU 0.360 on shapes val after 400 iterations (background 0.946, circle 0.253, square 0.241,
# triangle 0.000) in 53 min 57 s wall time: better than PSPNet's 0.342 at the same schedule and load, but far
# from PSPNet's 0.76 after 2000 iterations, which this machine could not afford this session.
# Trained once (`--seed 0`, OMP_NUM_THREADS=1) on a heavily loaded shared 2-core machine (load average 10-16),
# five trainings at once: this config, the other three new heads' shapes configs and
# configs/pspnet/pspnet_r18-d8_shapes.py with the same 400-iteration schedule (--cfg-options runner.max_iters=400
# evaluation.interval=400 checkpoint_config.interval=400) as the same-budget baseline: PSPNet reached mIoU 0.342
# (circle 0.21, square 0.23, triangle 0.00) in 52 min 9 s under that load.
_base_ = [
    '../_base_/models/deeplabv3plus_r50-d8.py', '../_base_/datasets/shapes_semantic.py',
    '../_base_/seg_runtime.py', '../_base_/schedules/schedule_20k.py'
]
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    pretrained=None,
    backbone=dict(depth=18, base_channels=16, norm_cfg=norm_cfg),
    decode_head=dict(in_channels=128, channels=64, dilations=(1, 3, 6, 9), c1_in_channels=16, c1_channels=12,
                     num_classes=4, norm_cfg=norm_cfg),
    auxiliary_head=dict(in_channels=64, channels=32, num_classes=4, norm_cfg=norm_cfg))
optimizer = dict(lr=0.05)
runner = dict(type='IterBasedRunner', max_iters=400)
checkpoint_config = dict(by_epoch=False, interval=400, max_keep_ckpts=1)
evaluation = dict(interval=400, metric='mIoU')
log_config = dict(interval=50)
cudnn_benchmark = False
