# DeepLabV3+ with a narrow ResNet-18 (ResNetV1c, base width 16) at output stride 16 on the 128-px shapes set,
# from scratch, batch 8, 2900 iterations: the wall-time budget of configs/pspnet/pspnet_r18-d8_shapes.py.
#   segdet data shapes --out data/shapes --seed 0 --num-train 600 --num-val 100
#   segdet train configs/deeplabv3plus/deeplabv3plus_r18-d16_shapes.py --seed 0
# Output stride 16 (MMSegmentation's d16 configs; the DeepLabV3+ paper trains at 16): the decoder brings back
# the stride-4 detail, and the encoder costs far less than at stride 8, so a training step takes about 0.6x
# PSPNet's and more steps fit in PSPNet's time. Dilations (1, 2, 4, 6): the deep map of a 128-px image is 8x8.
# Side by side on 2026-12-03 (2-core machine, both trainings at once, OMP_NUM_THREADS=1, --seed 0, same code):
#   this config   0.478 after 1450 iterations, mIoU 0.799 after 2900, 545 s wall time with both evaluations
#   PSPNet        0.713 after 1000 iterations, mIoU 0.791 after 2000, 573 s wall time
# The same pair with --seed 1: this config 0.700 in 617 s, PSPNet 0.797 in 640 s. So "as good as PSPNet in the same
# time" holds for seed 0, not for every seed. Variants tried on both seeds (2900 iterations; their seed-0 runs
# beside PSPNet took 738 s against its 748 s and 674 s against 673 s):
#   auxiliary loss weight 1.0: seed 0 0.737, seed 1 0.815    linear warmup 200 iterations: seed 0 0.677, seed 1 0.801
# Training from scratch here has a plateau (loss ~0.14: shapes found, their class not yet) that this head leaves
# later than PSPNet's; the result depends on leaving it early enough. Measured, one change at a time:
#   stride 16, lr 0.1: 2600 iterations 0.512, 2800: 0.729, 3200: 0.818 (625 s)   lr 0.05, 2900: 0.512
#   stride 8, lr 0.1 (0.30 s per step against PSPNet's 0.26): 2000 iterations 0.836 (625 s), 1750: 0.738;
#   lr 0.2, 1750: 0.734; lr 0.05 with dilations (1, 3, 6, 9), 2000: 0.506; channels 48, 1850: 0.461
_base_ = [
    '../_base_/models/deeplabv3plus_r50-d8.py', '../_base_/datasets/shapes_semantic.py',
    '../_base_/seg_runtime.py', '../_base_/schedules/schedule_20k.py'
]
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    pretrained=None,
    backbone=dict(depth=18, base_channels=16, dilations=(1, 1, 1, 2), strides=(1, 2, 2, 1), norm_cfg=norm_cfg),
    decode_head=dict(in_channels=128, channels=64, dilations=(1, 2, 4, 6), c1_in_channels=16, c1_channels=12,
                     num_classes=4, norm_cfg=norm_cfg),
    auxiliary_head=dict(in_channels=64, channels=32, num_classes=4, norm_cfg=norm_cfg))
optimizer = dict(lr=0.2)
runner = dict(type='IterBasedRunner', max_iters=2900)
checkpoint_config = dict(by_epoch=False, interval=1450, max_keep_ckpts=1)
evaluation = dict(interval=1450, metric='mIoU')
log_config = dict(interval=50)
cudnn_benchmark = False
