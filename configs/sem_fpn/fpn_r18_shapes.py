# Semantic FPN (FPN neck + FPNHead) with a narrow ResNet-18 (ResNetV1c, base width 16, strides 4-32) on the
# 128-px shapes set, from scratch, batch 8, 2000 iterations (the schedule of configs/pspnet/pspnet_r18-d8_shapes.py):
#   segdet data shapes --out data/shapes --seed 0 --num-train 600 --num-val 100
#   segdet train configs/sem_fpn/fpn_r18_shapes.py --seed 0
# MEASURED (2026-12-03, --seed 0, OMP_NUM_THREADS=1, three trainings on 2 cores): mIoU on shapes val 0.367 after 1000
# iterations and 0.498 (background 0.970, circle 0.349, square 0.438, triangle 0.235) after 2000, in 443 s wall time.
# PSPNet's shapes config with the same code: 0.713 after 1000 and 0.791 after 2000 (530 s alone).
# Earlier, at 400 iterations on a heavily loaded machine (load 10-16), this config and PSPNet reached
# 0.257 and 0.342.
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
runner = dict(type='IterBasedRunner', max_iters=2000)
checkpoint_config = dict(by_epoch=False, interval=1000, max_keep_ckpts=1)
evaluation = dict(interval=1000, metric='mIoU')
log_config = dict(interval=50)
cudnn_benchmark = False
