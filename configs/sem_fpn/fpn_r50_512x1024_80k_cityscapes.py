_base_ = [
    '../_base_/models/fpn_r50.py', '../_base_/datasets/cityscapes.py',
    '../_base_/seg_runtime.py', '../_base_/schedules/schedule_80k.py'
]
