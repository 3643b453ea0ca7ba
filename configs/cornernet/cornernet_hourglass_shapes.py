# A small CornerNet trained from scratch on the shapes set (128-px images, 3 classes,
# `segdet data shapes --out data/shapes`), for a CPU check that the corner pipeline learns.
# - one hourglass stack of depth 3 (widths 16/16/24/32), outputs at stride 4;
# - CornerHead at the same width, one feature level, 1-d embeddings, soft NMS at test time;
# - AdamW with warmup and cosine decay.
# Measured (`OMP_NUM_THREADS=1 segdet train configs/cornernet/cornernet_hourglass_shapes.py --seed 0`,
# shapes data of `segdet data shapes --out data/shapes`, 2-core machine heavily shared by other
# jobs, one run): 16 min 30 s for the 16 epochs of 75 iterations and 2 evaluations; bbox_mAP_50 on
# shapes val 0.322 after epoch 8 and 0.520 after epoch 16 (bbox_mAP 0.225 / 0.389); `segdet test`
# of the final checkpoint with the current code (score_thr applied before NMS): bbox_mAP_50 0.519,
# bbox_mAP 0.389. The untrained model (seed 0, init_weights()) scores bbox_mAP_50 0.000.
# On this loaded machine OMP_NUM_THREADS=1 ran ~10x faster than 2 threads (0.5 s vs 5 s per batch).
_base_ = [
    '../_base_/datasets/shapes_detection.py', '../_base_/default_runtime.py'
]
model = dict(
    type='CornerNet',
    backbone=dict(
        type='HourglassNet',
        downsample_times=3,
        num_stacks=1,
        stage_channels=[16, 16, 24, 32],
        stage_blocks=[1, 1, 1, 2],
        feat_channel=16,
        norm_cfg=dict(type='BN', requires_grad=True)),
    neck=None,
    bbox_head=dict(
        type='CornerHead',
        num_classes=3,
        in_channels=16,
        num_feat_levels=1,
        corner_emb_channels=1,
        feat_channels=16,
        pool_feat_channels=16,
        loss_heatmap=dict(
            type='GaussianFocalLoss', alpha=2.0, gamma=4.0, loss_weight=1),
        loss_embedding=dict(
            type='AssociativeEmbeddingLoss', pull_weight=0.10,
            push_weight=0.10),
        loss_offset=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1)),
    train_cfg=None,
    test_cfg=dict(
        corner_topk=20,
        local_maximum_kernel=3,
        distance_threshold=0.5,
        score_thr=0.05,
        max_per_img=100,
        nms=dict(type='soft_nms', iou_threshold=0.5, method='gaussian')))
data = dict(samples_per_gpu=8, workers_per_gpu=1)
optimizer = dict(type='AdamW', lr=0.002, weight_decay=0.0001)
optimizer_config = dict(grad_clip=dict(max_norm=35, norm_type=2))
lr_config = dict(
    policy='CosineAnnealing',
    warmup='linear',
    warmup_iters=100,
    warmup_ratio=0.01,
    min_lr_ratio=0.01)
runner = dict(type='EpochBasedRunner', max_epochs=16)
checkpoint_config = dict(interval=16)
log_config = dict(interval=25, hooks=[dict(type='TextLoggerHook')])
evaluation = dict(interval=8, metric='bbox')
