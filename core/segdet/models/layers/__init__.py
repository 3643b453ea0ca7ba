"""Building blocks shared by components (part of the plugin API)."""
from .conv_module import ConvModule
from .freeze import eval_batch_norms, freeze_modules
from .init import bias_init_with_prob, constant_init, kaiming_init, normal_init, xavier_init
from .norm import build_activation_layer, build_norm_layer, norm_abbr
from .residual import ResidualBlockBase, init_residual_weights
from .scale import Scale

__all__ = [
    "ConvModule",
    "ResidualBlockBase",
    "Scale",
    "bias_init_with_prob",
    "build_activation_layer",
    "build_norm_layer",
    "constant_init",
    "init_residual_weights",
    "eval_batch_norms",
    "freeze_modules",
    "kaiming_init",
    "norm_abbr",
    "normal_init",
    "xavier_init",
]
