# Res2Net-101 (26w x 4s, v1d) under RetinaNet. MMDetection ships Res2Net only with two-stage
# detectors (faster_rcnn_r2_101_fpn_2x_coco.py: the same backbone dict on faster_rcnn_r50_fpn_2x);
# the backbone keys are the same here.
_base_ = '../retinanet/retinanet_r50_fpn_1x_coco.py'
model = dict(
    backbone=dict(
        type='Res2Net',
        depth=101,
        scales=4,
        base_width=26,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='open-mmlab://res2net101_v1d_26w_4s')))
