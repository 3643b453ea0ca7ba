# Mask R-CNN trained from scratch on the shapes set (128-px images, objects 9-51 px,
# 3 classes, polygon segmentations): `make demo-mask-rcnn`.
# - narrow ResNet-18 (base_channels 16), FPN of width 64 at strides 8/16/32;
# - RPN anchors of 2 and 3 x stride (16-96 px), 1 aspect ratio (shapes are near-square);
# - box head: two FCs of 256 on 7x7 RoIs; mask head: two 3x3 convs of 64 on 14x14 RoIs;
# - smaller sample and proposal budgets than COCO's (few objects per 128-px image).
# - AdamW with warmup and cosine decay over 8 epochs of 75 iterations (batch 8).
# Measured (`segdet train ... --seed 0`, OMP_NUM_THREADS=1, shapes data of `make demo`, 2-core
# machine shared with other jobs, so wall times are upper bounds):
# - this config (8 epochs), load average 4-8 during the run: 8 min 35 s wall for training and
#   2 evaluations; bbox_mAP_50 0.583 / 0.848 and segm_mAP_50 0.583 / 0.839 after epochs 4 / 8
#   (bbox_mAP 0.654, segm_mAP 0.619 at the end); `segdet test ... --eval bbox segm` reproduces them.
# - 16 epochs (`--cfg-options runner.max_epochs=16 checkpoint_config.interval=16`), load
#   average 12-17: 56 min wall; after epochs 4 / 8 / 12 / 16 bbox_mAP_50 0.596 / 0.922 / 0.939 /
#   0.942 and segm_mAP_50 0.573 / 0.898 / 0.920 / 0.925 (bbox_mAP 0.760, segm_mAP 0.713);
#   `segdet test ... latest.pth --eval bbox segm` reproduced 0.942 / 0.925.
# Under that heavy load OMP_NUM_THREADS=2 was ~7x slower per iteration than 1 (threads spin).
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
runner = dict(type='EpochBasedRunner', max_epochs=8)
checkpoint_config = dict(interval=8)
log_config = dict(interval=25, hooks=[dict(type='TextLoggerHook')])
evaluation = dict(interval=4, metric=['bbox', 'segm'])
