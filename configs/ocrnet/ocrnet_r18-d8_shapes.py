# OCRNet (CascadeEncoderDecoder: FCNHead then OCRHead) with a narrow ResNet-18-D8 (ResNetV1c, base width 16)
# on the 128-px shapes set, from scratch, batch 8, 400 iterations (a fifth of
# configs/pspnet/pspnet_r18-d8_shapes.py's schedule: the shared machine was too loaded for 2000):
#   segdet data shapes --out data/shapes --seed 0 --num-train 600 --num-val 100
#   segdet train configs/ocrnet/ocrnet_r18-d8_shapes.py --seed 0
# MEASURED: mIoU 0.291 on shapes val after 400 iterations (background 0.922, circle 0.096, square 0.145,
# triangle 0.000) in 50 min 29 s wall time.
# Trained once (`--seed 0`, OMP_NUM_THREADS=1) on a heavily loaded shared 2-core machine (load average 10-16),
# five trainings at once: this config, the other three new heads' shapes configs and
# configs/pspnet/pspnet_r18-d8_shapes.py with the same 400-iteration schedule (--cfg-options runner.max_iters=400
# evaluation.interval=400 checkpoint_config.interval=400) as the same-budget baseline: PSPNet reached mIoU 0.342
# (circle 0.21, square 0.23, triangle 0.00) in 52 min 9 s under that load.
_base_ = [
    '../_base_/models/ocrnet_r50-d8.py', '../_base_/datasets/shapes_semantic.py',
    '../_base_/seg_runtime.py', '../_base_/schedules/schedule_20k.py'
]
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    pretrained=None,
    backbone=dict(depth=18, base_channels=16, norm_cfg=norm_cfg),
    decode_head=[
        dict(type='FCNHead', in_channels=64, in_index=2, channels=32, num_convs=1, concat_input=False,
             dropout_ratio=0.1, num_classes=4, norm_cfg=norm_cfg, align_corners=False,
             loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
        dict(type='OCRHead', in_channels=128, in_index=3, channels=64, ocr_channels=32, dropout_ratio=0.1,
             num_classes=4, norm_cfg=norm_cfg, align_corners=False,
             loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    ])
optimizer = dict(lr=0.05)
runner = dict(type='IterBasedRunner', max_iters=400)
checkpoint_config = dict(by_epoch=False, interval=400, max_keep_ckpts=1)
evaluation = dict(interval=400, metric='mIoU')
log_config = dict(interval=50)
cudnn_benchmark = False
