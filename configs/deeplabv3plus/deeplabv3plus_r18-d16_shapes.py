# DeepLabV3+ with a narrow ResNet-18 (ResNetV1c, base width 16) at output stride 16 on the 128-px shapes set,
# from scratch, batch 8, AdamW, 2700 iterations: less wall time than configs/pspnet/pspnet_r18-d8_shapes.py.
#   segdet data shapes --out data/shapes --seed 0 --num-train 600 --num-val 100
#   segdet train configs/deeplabv3plus/deeplabv3plus_r18-d16_shapes.py --seed 0
# Output stride 16 (MMSegmentation's d16 configs; the DeepLabV3+ paper trains at 16): the decoder brings back
# the stride-4 detail, and the encoder costs far less than at stride 8, so a training step takes about 0.7x
# PSPNet's. Dilations (1, 2, 4, 6): the deep map of a 128-px image is 8x8.
# AdamW as MMSegmentation's SegFormer configs write it (lr 0.002 here, weight decay 0.01, poly to 1e-5).
# Side by side on 2026-12-03, each pair at once on a 2-core machine (OMP_NUM_THREADS=1, same code), mIoU on
# shapes val after the last iteration and wall time with both evaluations:
#   this config --seed 0: 0.817 in 510 s    beside PSPNet config --seed 0: 0.791 in 558 s
#   this config --seed 1: 0.837 in 506 s    beside PSPNet config with this AdamW, --seed 0: 0.838 in 551 s
#   this config --seed 2: 0.845 in 503 s    beside PSPNet config --seed 1: 0.797 in 559 s
#   this config --seed 3: 0.828 in 538 s    beside PSPNet config --seed 3: 0.798 in 590 s
# (PSPNet config --seed 2: 0.729.) So on every seed tried this config beats the PSPNet config in less time. AdamW
# is a large part of that: PSPNet with the same AdamW also reaches 0.84. With 2900 iterations (before the cut to
# 2700, which leaves a margin on time) seeds 0, 1, 2 gave 0.824, 0.855, 0.845.
# SGD (lr 0.2, 2900 iterations) was not robust: seed 0 0.799, seed 1 0.700, beside PSPNet's 0.791 and 0.797.
# Trained from scratch with SGD this head sits on a plateau (shapes found, their class not yet) and leaves it
# late, at a time that depends on the seed: its training loss fell below 0.15 at about iteration 2100 (seed 0)
# and 2200 (seed 1). With AdamW it did so by iteration 1500 on all four seeds (PSPNet's by about 1000).
# SGD variants, each on seeds 0 and 1: auxiliary loss weight 1.0 0.737 / 0.815, linear warmup 200 iterations
# 0.677 / 0.801. SGD lr 0.1: 2600 iterations 0.512, 2800: 0.729, 3200: 0.818; lr 0.05: 0.512. Output stride 8
# (SGD lr 0.1, 0.30 s per step against PSPNet's 0.26): 2000 iterations 0.836 in 625 s, 1750: 0.738.
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
optimizer = dict(_delete_=True, type='AdamW', lr=0.002, betas=(0.9, 0.999), weight_decay=0.01)
lr_config = dict(policy='poly', power=0.9, min_lr=1e-5, by_epoch=False)
runner = dict(type='IterBasedRunner', max_iters=2700)
checkpoint_config = dict(by_epoch=False, interval=1350, max_keep_ckpts=1)
evaluation = dict(interval=1350, metric='mIoU')
log_config = dict(interval=50)
cudnn_benchmark = False
