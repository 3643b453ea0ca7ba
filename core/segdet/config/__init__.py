"""MMCV-style configs: ``_base_`` inheritance, ``--cfg-options``, dump, and origin tracking.

    from segdet.config import Config, parse_cfg_options

    cfg = Config.fromfile('configs/retinanet/retinanet_r18_fpn_shapes.py',
                          cfg_options=parse_cfg_options(['model.neck.num_outs=4']))
    cfg.model.neck.key_path()          # 'model.neck'
    cfg.model.neck.origin_of('num_outs')  # '--cfg-options model.neck.num_outs=4'
    cfg.explain('model.neck.num_outs')    # every place that set it, base first

Loading a config never imports torch.
"""
from __future__ import annotations

from .config import Config
from .configdict import ConfigDict, ConfigKeyError, format_path, to_plain
from .dump import dump_file, dump_text, format_python
from .loader import ConfigFileNotFoundError, clear_cache, iter_config_files
from .options import CfgOptions, apply_options, parse_cfg_options, parse_value

__all__ = [
    "CfgOptions",
    "Config",
    "ConfigDict",
    "ConfigFileNotFoundError",
    "ConfigKeyError",
    "apply_options",
    "clear_cache",
    "dump_file",
    "dump_text",
    "format_path",
    "format_python",
    "iter_config_files",
    "parse_cfg_options",
    "parse_value",
    "to_plain",
]
