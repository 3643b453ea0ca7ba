# DeepLabV3+ with a narrow ResNet-18-D8 (ResNetV1c, base width 16) on the 128-px shapes set, from scratch,
# batch 8, 2000 iterations: the schedule of configs/pspnet/pspnet_r18-d8_shapes.py (about 15% more wall time, below).
#   segdet data shapes --out data/shapes --seed 0 --num-train 600 --num-val 100
#   segdet train configs/deeplabv3plus/deeplabv3plus_r18-d8_shapes.py --seed 0
# Dilations (1, 2, 4, 6) instead of (1, 12, 24, 36): the deep map of a 128-px image is 16x16 and a shape
# spans 2-5 cells of it, so larger rates mostly see padding or the next shape.
# lr 0.1 (PSPNet's shapes config uses 0.05). Measured with --seed 0, 2000 iterations each, one change at a time:
#   lr 0.05, dilations (1, 3, 6, 9): mIoU 0.506    lr 0.1: 0.727    lr 0.2: 0.773
#   lr 0.05, channels 128, c1_channels 48: 0.633    the same at lr 0.1: 0.636
#   lr 0.1, dilations (1, 2, 4, 6) (this config): 0.836 (0.528 after 1000 iterations)
# PSPNet's shapes config in the same session and code: 0.713 after 1000 iterations, 0.791 after 2000.
# Time (2026-12-03, 2-core machine, OMP_NUM_THREADS=1, one other single-threaded training beside it): 625 s for
# 2000 iterations with both evaluations, about 0.30 s per iteration against PSPNet's 0.26 (530 s, alone).
# In PSPNet's budget (1750 iterations, 543 s) this config reached 0.738 (lr 0.2: 0.734, lr 0.15: 0.577): below
# PSPNet's 0.76-0.79, so "as good as PSPNet in the same time" is not met yet; at 2000 iterations it is ahead.
_base_ = [
    '../_base_/models/deeplabv3plus_r50-d8.py', '../_base_/datasets/shapes_semantic.py',
    '../_base_/seg_runtime.py', '../_base_/schedules/schedule_20k.py'
]
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    pretrained=None,
    backbone=dict(depth=18, base_channels=16, norm_cfg=norm_cfg),
    decode_head=dict(in_channels=128, channels=64, dilations=(1, 2, 4, 6), c1_in_channels=16, c1_channels=12,
                     num_classes=4, norm_cfg=norm_cfg),
    auxiliary_head=dict(in_channels=64, channels=32, num_classes=4, norm_cfg=norm_cfg))
optimizer = dict(lr=0.1)
runner = dict(type='IterBasedRunner', max_iters=2000)
checkpoint_config = dict(by_epoch=False, interval=1000, max_keep_ckpts=1)
evaluation = dict(interval=1000, metric='mIoU')
log_config = dict(interval=50)
cudnn_benchmark = False
