# OCRNet (CascadeEncoderDecoder: FCNHead then OCRHead) with a narrow ResNet-18-D8 (ResNetV1c, base width 16)
# on the 128-px shapes set, from scratch, batch 8, 2000 iterations (the schedule of configs/pspnet/pspnet_r18-d8_shapes.py):
#   segdet data shapes --out data/shapes --seed 0 --num-train 600 --num-val 100
#   segdet train configs/ocrnet/ocrnet_r18-d8_shapes.py --seed 0
# MEASURED (2026-12-03, --seed 0, OMP_NUM_THREADS=1, three trainings on 2 cores for most of it): mIoU on shapes val 0.588 after 1000
# iterations and 0.765 (background 0.982, circle 0.755, square 0.800, triangle 0.523) after 2000, in 691 s wall time.
# PSPNet's shapes config with the same code: 0.713 after 1000 and 0.791 after 2000 (530 s alone).
# Earlier, at 400 iterations on a heavily loaded machine (load 10-16), this config and PSPNet reached
# 0.291 and 0.342.
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
runner = dict(type='IterBasedRunner', max_iters=2000)
checkpoint_config = dict(by_epoch=False, interval=1000, max_keep_ckpts=1)
evaluation = dict(interval=1000, metric='mIoU')
log_config = dict(interval=50)
cudnn_benchmark = False
