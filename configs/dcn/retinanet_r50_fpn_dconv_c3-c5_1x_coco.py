# Deformable 3x3 convs in stages C3-C5 (MMDetection ships this backbone dict in
# faster_rcnn_r50_fpn_dconv_c3-c5_1x_coco.py; here it sits on RetinaNet).
_base_ = '../retinanet/retinanet_r50_fpn_1x_coco.py'
model = dict(
    backbone=dict(
        dcn=dict(type='DCN', deform_groups=1, fallback_on_stride=False),
        stage_with_dcn=(False, True, True, True)))
