# RetinaNet R-50 with EfficientDet's BiFPN in place of the FPN (needs segdet-neck-bifpn).
# No MMDetection config has this name: it is retinanet_r50_fpn_1x_coco with the neck
# swapped. BiFPN adapts C3-C5 (start_level=1) to 256 channels, makes P6/P7 by max pooling
# C5 (after a 1x1 conv), and stacks 3 BiFPN layers; the RetinaHead is unchanged.
# in_strides are those of ResNet's four outputs: the neck reports strides 8..128, which
# match the anchor generator's.
_base_ = './retinanet_r50_fpn_1x_coco.py'
model = dict(
    neck=dict(
        _delete_=True,
        type='BiFPN',
        in_channels=[256, 512, 1024, 2048],
        out_channels=256,
        start_level=1,
        num_outs=5,
        num_repeats=3,
        epsilon=1e-4,
        in_strides=[4, 8, 16, 32],
        # with 2 images per GPU, prefer dict(type='SyncBN', momentum=0.01, eps=1e-3)
        # for multi-GPU training, as EfficientDet does
        norm_cfg=dict(type='BN', momentum=0.01, eps=1e-3, requires_grad=True),
        act_cfg=dict(type='SiLU')))
