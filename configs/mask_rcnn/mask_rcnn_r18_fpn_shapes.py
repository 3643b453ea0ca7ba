# Mask R-CNN trained from scratch on the shapes set (128-px images, objects 9-51 px,
# 3 classes, polygon segmentations): `make demo-mask-rcnn`.
# - narrow ResNet-18 (base_channels 16), FPN of width 64 at strides 8/16/32;
# - RPN anchors of 2 and 3 x stride (16-96 px), 1 aspect ratio (shapes are near-square);
# - box head: two FCs of 256 on 7x7 RoIs; mask head: two 3x3 convs of 64 on 14x14 RoIs;
# - smaller sample and proposal budgets than COCO's (few objects per 128-px image).
# - AdamW with warmup and cosine decay over 16 epochs of 75 iterations (batch 8).
# Measured (`segdet train ... --seed 0`, OMP_NUM_THREADS=1, shapes data of `make demo`, on the
# 2-core machine while ~8 other jobs were training and testing: load average 12-17, so these
# times are far above an idle machine's): validation after epochs 4 / 8 / 12 / 16:
#   bbox_mAP_50 0.596 / 0.922 / 0.939 / 0.942   (bbox_mAP 0.760 at the end)
#   segm_mAP_50 0.573 / 0.898 / 0.920 / 0.925   (segm_mAP 0.713 at the end)
# Wall time 56 min for the 16 epochs and 4 evaluations; epochs took 140-430 s as the load
# varied (OMP_NUM_THREADS=2 was ~7x slower per iteration than 1 under that load). The targets
# (0.80 / 0.70) were passed at epoch 8 (34 min into this run). Not measured on an idle machine:
# the same-load comparison put an iteration at ~1.5x RetinaNet's, whose 3000 iterations of
# `make demo` take 7.4 min idle, which suggests ~5 min for these 1200 iterations idle.
# `segdet test ... latest.pth --eval bbox segm` reproduces 0.942 / 0.925 (26 s).
_base_ = [
    '../_base_/datasets/shapes_detection.py', '../_base_/default_runtime.py'
]
model = dict(
    type='MaskRCNN',
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
        num_outs=3),
    rpn_head=dict(
        type='RPNHead',
        in_channels=64,
        feat_channels=64,
        anchor_generator=dict(
            type='AnchorGenerator',
            scales=[2, 3],
            ratios=[1.0],
            strides=[8, 16, 32]),
        bbox_coder=dict(
            type='DeltaXYWHBBoxCoder',
            target_means=[.0, .0, .0, .0],
            target_stds=[1.0, 1.0, 1.0, 1.0]),
        loss_cls=dict(
            type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
        loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
    roi_head=dict(
        type='StandardRoIHead',
        bbox_roi_extractor=dict(
            type='SingleRoIExtractor',
            roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0),
            out_channels=64,
            featmap_strides=[8, 16, 32]),
        bbox_head=dict(
            type='Shared2FCBBoxHead',
            in_channels=64,
            fc_out_channels=256,
            roi_feat_size=7,
            num_classes=3,
            bbox_coder=dict(
                type='DeltaXYWHBBoxCoder',
                target_means=[0., 0., 0., 0.],
                target_stds=[0.1, 0.1, 0.2, 0.2]),
            reg_class_agnostic=False,
            loss_cls=dict(
                type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
        mask_roi_extractor=dict(
            type='SingleRoIExtractor',
            roi_layer=dict(type='RoIAlign', output_size=14, sampling_ratio=0),
            out_channels=64,
            featmap_strides=[8, 16, 32]),
        mask_head=dict(
            type='FCNMaskHead',
            num_convs=2,
            in_channels=64,
            conv_out_channels=64,
            num_classes=3,
            loss_mask=dict(
                type='CrossEntropyLoss', use_mask=True, loss_weight=1.0))),
    train_cfg=dict(
        rpn=dict(
            assigner=dict(
                type='MaxIoUAssigner',
                pos_iou_thr=0.7,
                neg_iou_thr=0.3,
                min_pos_iou=0.3,
                match_low_quality=True,
                ignore_iof_thr=-1),
            sampler=dict(
                type='RandomSampler',
                num=128,
                pos_fraction=0.5,
                neg_pos_ub=-1,
                add_gt_as_proposals=False),
            allowed_border=-1,
            pos_weight=-1,
            debug=False),
        rpn_proposal=dict(
            nms_pre=500,
            max_per_img=200,
            nms=dict(type='nms', iou_threshold=0.7),
            min_bbox_size=0),
        rcnn=dict(
            assigner=dict(
                type='MaxIoUAssigner',
                pos_iou_thr=0.5,
                neg_iou_thr=0.5,
                min_pos_iou=0.5,
                match_low_quality=True,
                ignore_iof_thr=-1),
            sampler=dict(
                type='RandomSampler',
                num=64,
                pos_fraction=0.25,
                neg_pos_ub=-1,
                add_gt_as_proposals=True),
            mask_size=28,
            pos_weight=-1,
            debug=False)),
    test_cfg=dict(
        rpn=dict(
            nms_pre=500,
            max_per_img=100,
            nms=dict(type='nms', iou_threshold=0.7),
            min_bbox_size=0),
        rcnn=dict(
            score_thr=0.05,
            nms=dict(type='nms', iou_threshold=0.5),
            max_per_img=100,
            mask_thr_binary=0.5)))
img_norm_cfg = dict(
    mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', img_scale=(128, 128), keep_ratio=True),
    dict(type='RandomFlip', flip_ratio=0.5),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='Pad', size_divisor=32),
    dict(type='DefaultFormatBundle'),
    dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels', 'gt_masks']),
]
data = dict(
    samples_per_gpu=8,
    workers_per_gpu=1,
    train=dict(pipeline=train_pipeline))
optimizer = dict(type='AdamW', lr=0.002, weight_decay=0.0001)
optimizer_config = dict(grad_clip=dict(max_norm=10, norm_type=2))
lr_config = dict(
    policy='CosineAnnealing',
    warmup='linear',
    warmup_iters=100,
    warmup_ratio=0.01,
    min_lr_ratio=0.01)
runner = dict(type='EpochBasedRunner', max_epochs=16)
checkpoint_config = dict(interval=16)
log_config = dict(interval=25, hooks=[dict(type='TextLoggerHook')])
evaluation = dict(interval=4, metric=['bbox', 'segm'])
