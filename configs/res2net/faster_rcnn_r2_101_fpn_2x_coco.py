# MMDetection's faster_rcnn_r2_101_fpn_2x_coco.py; its base faster_rcnn_r50_fpn_2x_coco.py is
# the 1x config with the 2x schedule (steps at epochs 16 and 22 of 24), written out here.
_base_ = '../faster_rcnn/faster_rcnn_r50_fpn_1x_coco.py'
model = dict(
    backbone=dict(
        type='Res2Net',
        depth=101,
        scales=4,
        base_width=26,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='open-mmlab://res2net101_v1d_26w_4s')))
lr_config = dict(step=[16, 22])
runner = dict(type='EpochBasedRunner', max_epochs=24)
