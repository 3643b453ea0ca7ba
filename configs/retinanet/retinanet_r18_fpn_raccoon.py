# A small RetinaNet on the raccoon photos (../shared/data/raccoon: 200 real photos, PASCAL VOC
# XML boxes, one class, the repository's own 160/40 train/test split). Run from the repository
# root: `segdet train configs/retinanet/retinanet_r18_fpn_raccoon.py`.
# The model is the shapes demo's (narrow ResNet-18 + FPN + GN RetinaHead with GIoU), with one
# class and anchors of three aspect ratios sized for animals filling much of a 192-px image.
_base_ = ['./retinanet_r18_fpn_shapes.py']
dataset_type = 'XMLDataset'
data_root = '../shared/data/raccoon/'
classes = ('raccoon',)
img_norm_cfg = dict(
    mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', img_scale=(192, 192), keep_ratio=True),
    dict(type='RandomFlip', flip_ratio=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='Pad', size_divisor=32),
    dict(type='DefaultFormatBundle'),
    dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels']),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='MultiScaleFlipAug',
        img_scale=(192, 192),
        flip=False,
        transforms=[
            dict(type='Resize', keep_ratio=True),
            dict(type='RandomFlip'),
            dict(type='Normalize', **img_norm_cfg),
            dict(type='Pad', size_divisor=32),
            dict(type='ImageToTensor', keys=['img']),
            dict(type='Collect', keys=['img']),
        ])
]
_split = dict(type=dataset_type, classes=classes, data_root=data_root, img_prefix='',
              img_subdir='images', ann_subdir='annotations')
data = dict(
    samples_per_gpu=8,
    workers_per_gpu=1,
    train=dict(_delete_=True, ann_file='splits/train_labels.csv', pipeline=train_pipeline, **_split),
    val=dict(_delete_=True, ann_file='splits/test_labels.csv', pipeline=test_pipeline, **_split),
    test=dict(_delete_=True, ann_file='splits/test_labels.csv', pipeline=test_pipeline, **_split))
model = dict(
    bbox_head=dict(
        num_classes=1,
        anchor_generator=dict(octave_base_scale=4, ratios=[0.5, 1.0, 2.0])))
lr_config = dict(warmup_iters=40)
runner = dict(type='EpochBasedRunner', max_epochs=30)
checkpoint_config = dict(interval=30)
log_config = dict(interval=20)
evaluation = dict(interval=30, metric='mAP')
