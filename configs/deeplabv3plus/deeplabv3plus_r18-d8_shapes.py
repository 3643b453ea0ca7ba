# DeepLabV3+ with a narrow ResNet-18-D8 (ResNetV1c, base width 16) on the 128-px shapes set, from scratch,
# batch 8, 400 iterations (a fifth of
# configs/pspnet/pspnet_r18-d8_shapes.py's schedule: the shared machine was too loaded for 2000):
#   segdet data shapes --out data/shapes --seed 0 --num-train 600 --num-val 100
#   segdet train configs/deeplabv3plus/deeplabv3plus_r18-d8_shapes.py --seed 0
# Dilations (1, 3, 6, 9) instead of (1, 12, 24, 36): the deep map of a 128-px image is 16x16, where
# rates of 24 and 36 would only see padding.
# MEASURED: (filled in below after the run)
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
