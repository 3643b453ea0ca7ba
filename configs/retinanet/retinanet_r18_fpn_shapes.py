# The `make demo` default: a small RetinaNet trained from scratch on the shapes set
# (128-px images, objects 9-51 px). Narrow ResNet-18 (base_channels 16), FPN at strides
# 8/16/32, anchors sized for small objects; reaches bbox_mAP_50 >= 0.8 on shapes val
# within 10 minutes on 2 CPU cores.
_base_ = [
    '../_base_/datasets/shapes_detection.py', '../_base_/default_runtime.py'
]
model = dict(
    type='RetinaNet',
    backbone=dict(
        type='ResNet',
        depth=18,
        base_channels=16,
        num_stages=4,
        out_indices=(1, 2, 3),
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        style='pytorch',
        init_cfg=None),
    neck=dict(
        type='FPN',
        in_channels=[32, 64, 128],
        out_channels=64,
        start_level=0,
        add_extra_convs=False,
        num_outs=3),
    bbox_head=dict(
        type='RetinaHead',
        num_classes=3,
        in_channels=64,
        stacked_convs=2,
        feat_channels=64,
        anchor_generator=dict(
            type='AnchorGenerator',
            octave_base_scale=1.5,
            scales_per_octave=3,
            ratios=[1.0],
            strides=[8, 16, 32]),
        bbox_coder=dict(
            type='DeltaXYWHBBoxCoder',
            target_means=[.0, .0, .0, .0],
            target_stds=[0.1, 0.1, 0.2, 0.2]),
        loss_cls=dict(
            type='FocalLoss',
            use_sigmoid=True,
            gamma=2.0,
            alpha=0.25,
            loss_weight=1.0),
        loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
    train_cfg=dict(
        assigner=dict(
            type='MaxIoUAssigner',
            pos_iou_thr=0.5,
            neg_iou_thr=0.4,
            min_pos_iou=0,
            ignore_iof_thr=-1),
        allowed_border=-1,
        pos_weight=-1,
        debug=False),
    test_cfg=dict(
        nms_pre=1000,
        min_bbox_size=0,
        score_thr=0.05,
        nms=dict(type='nms', iou_threshold=0.5),
        max_per_img=100))
data = dict(samples_per_gpu=8, workers_per_gpu=1)
optimizer = dict(type='AdamW', lr=0.002, weight_decay=0.0001)
optimizer_config = dict(grad_clip=dict(max_norm=10, norm_type=2))
lr_config = dict(
    policy='CosineAnnealing',
    warmup='linear',
    warmup_iters=100,
    warmup_ratio=0.01,
    min_lr_ratio=0.01)
runner = dict(type='EpochBasedRunner', max_epochs=20)
checkpoint_config = dict(interval=20)
log_config = dict(interval=25, hooks=[dict(type='TextLoggerHook')])
evaluation = dict(interval=20, metric='bbox')
