# Modulated deformable convs (DCNv2) in stages C3-C5, as MMDetection's
# faster_rcnn_r50_fpn_mdconv_c3-c5_1x_coco.py sets them.
_base_ = '../retinanet/retinanet_r50_fpn_1x_coco.py'
model = dict(
    backbone=dict(
        dcn=dict(type='DCNv2', deform_groups=1, fallback_on_stride=False),
        stage_with_dcn=(False, True, True, True)))
