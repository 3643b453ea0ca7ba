"""The plugin API: the one module a component distribution imports from segdet.

Everything a backbone, neck, head, loss, hook, dataset, transform or metric author needs
is here; every other module of the core is private and may change in any release.
``PLUGIN_API_VERSION`` versions exactly this list (see docs/PLUGIN_API.md for the
compatibility policy).  Plugin tests may also use ``segdet`` (the user API:
``Config``, ``build_model``) and ``segdet.testing`` (the contract suite).

    from segdet.api import ConvModule, Slot, build, load_pretrained
"""
from __future__ import annotations

from .engine.hooks import Hook, LoggerHook
from .engine.hookspec import hookimpl
from .engine.priority import Priority
from .engine.runner_state import RunnerState
from .errors import (
    CheckpointError,
    ComponentArgumentError,
    ConfigError,
    DataFileNotFoundError,
    SegdetError,
    ShapeMismatchError,
    UnknownComponentError,
)
from .evaluation.route import evaluate as evaluate_results
from .evaluation.route import uses_metric_route
from .models.builder import build_downstream, output_channels
from .models.decode_heads import PPM, BaseDecodeHead, LossCfg, resize, seg_accuracy
from .models.dense_heads import (
    AnchorHeadBase,
    ConvTowers,
    DenseHeadBase,
    PointHeadBase,
    bbox_mapping_back,
    conv_tower,
    empty_result,
    images_to_levels,
    levels_to_flat,
    multi_apply,
    reduce_mean,
    rescale_and_clip,
    unmap,
)
from .models.layers import (
    ConvModule,
    ResidualBlockBase,
    Scale,
    bias_init_with_prob,
    build_activation_layer,
    build_norm_layer,
    constant_init,
    eval_batch_norms,
    freeze_modules,
    init_residual_weights,
    kaiming_init,
    normal_init,
    xavier_init,
)
from .models.layers.depthwise_separable_conv_module import DepthwiseSeparableConvModule
from .models.roi_heads import (
    BaseRoIHead,
    bbox2roi,
    bbox_flip,
    bbox_mapping,
    mask_target,
    paste_masks,
    roi2bbox,
    scale_factor_tensor,
)
from .models.task_modules import AssignResult, SamplingResult
from .models.weights import load_backbone_pretrained, load_pretrained, load_state_dict_file
from .ops import batched_nms, bbox_overlaps, multiclass_nms, nms, soft_nms
from .registry import PLUGIN_API_VERSION, ComponentInfo, build, components, find_info, resolve
from .registry.slots import Slot, slots_of

__all__ = [
    # versioning and discovery
    "PLUGIN_API_VERSION",
    "ComponentInfo",
    "Slot",
    "build",
    "build_downstream",
    "components",
    "find_info",
    "output_channels",
    "resolve",
    "slots_of",
    # errors
    "CheckpointError",
    "ComponentArgumentError",
    "ConfigError",
    "DataFileNotFoundError",
    "SegdetError",
    "ShapeMismatchError",
    "UnknownComponentError",
    # layers and initialisation
    "ConvModule",
    "DepthwiseSeparableConvModule",
    "ResidualBlockBase",
    "Scale",
    "bias_init_with_prob",
    "build_activation_layer",
    "build_norm_layer",
    "constant_init",
    "eval_batch_norms",
    "freeze_modules",
    "init_residual_weights",
    "kaiming_init",
    "normal_init",
    "xavier_init",
    # weights
    "load_backbone_pretrained",
    "load_pretrained",
    "load_state_dict_file",
    # ops
    "batched_nms",
    "bbox_overlaps",
    "multiclass_nms",
    "nms",
    "soft_nms",
    # head bases and their helpers
    "AnchorHeadBase",
    "BaseDecodeHead",
    "ConvTowers",
    "DenseHeadBase",
    "LossCfg",
    "PPM",
    "PointHeadBase",
    "conv_tower",
    "images_to_levels",
    "levels_to_flat",
    "multi_apply",
    "reduce_mean",
    "resize",
    "seg_accuracy",
    "unmap",
    # RoI heads and their helpers
    "BaseRoIHead",
    "bbox2roi",
    "bbox_flip",
    "bbox_mapping",
    "bbox_mapping_back",
    "empty_result",
    "mask_target",
    "paste_masks",
    "rescale_and_clip",
    "roi2bbox",
    "scale_factor_tensor",
    # task-module records
    "AssignResult",
    "SamplingResult",
    # hooks
    "Hook",
    "LoggerHook",
    "Priority",
    "RunnerState",
    "hookimpl",
    # evaluation (data sets; metrics themselves need nothing from segdet)
    "evaluate_results",
    "uses_metric_route",
]
