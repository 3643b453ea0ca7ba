"""Check a whole config before anything is built: every ``type`` resolves, every key fits.

All problems are collected, so one run of ``segdet check-config`` lists them all.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import RegistryError
from .build import check_arguments, describe_location, find_info, resolve

__all__ = ["check_config", "check_section", "GROUP_OF_KEY"]

#: config key -> group of the component found under it
GROUP_OF_KEY: dict[str, str] = {
    "backbone": "backbones",
    "neck": "necks",
    "bbox_head": "heads",
    "rpn_head": "heads",
    "mask_head": "heads",
    "decode_head": "heads",
    "auxiliary_head": "heads",
    "anchor_generator": "task_modules",
    "prior_generator": "task_modules",
    "point_generator": "task_modules",
    "bbox_coder": "task_modules",
    "assigner": "task_modules",
    "sampler": "task_modules",
    "pipeline": "transforms",
    "transforms": "transforms",
    "policies": "transforms",
    "dataset": "datasets",
    "datasets": "datasets",
    "custom_hooks": "hooks",
    "hooks": "hooks",
}

# Arguments a parent or the engine supplies at build time, never written in configs.
_FILLED_BY_PARENT = frozenset({"in_channels", "params", "train_cfg", "test_cfg", "num_classes"})
# Keys whose dicts carry a ``type`` that is not a registry component.
_NOT_COMPONENTS = frozenset({"norm_cfg", "act_cfg", "conv_cfg", "upsample_cfg", "init_cfg", "nms",
                             "plugins", "dcn", "file_client_args", "img_norm_cfg", "paramwise_cfg"})


def _group_for(key: str) -> str | None:
    if key in GROUP_OF_KEY:
        return GROUP_OF_KEY[key]
    if key.startswith("loss"):
        return "losses"
    return None


def check_section(cfg: Mapping[str, Any], group: str, problems: list[str]) -> None:
    """Check one ``dict(type=...)`` of ``group`` and, recursively, its typed children."""
    where = describe_location(cfg)
    kind = cfg.get("type")
    if kind is None:
        problems.append(f"{where}: missing 'type' (group {group!r})")
        return
    try:
        obj = resolve(kind, group, where) if isinstance(kind, str) else kind
        display = find_info(kind, group, where).display_name if isinstance(kind, str) else str(kind)
    except RegistryError as err:
        problems.append(str(err))
        obj = None
    if obj is not None:
        args = {k: v for k, v in cfg.items() if k != "type"}
        if group == "optimizers":
            args.pop("paramwise_cfg", None)
        for p in check_arguments(obj, args, where.split(" (")[0].rsplit(".", 1)[0] or "config", display, cfg):
            if "missing the required argument" in p and p.rsplit("'", 2)[-2] in _FILLED_BY_PARENT:
                continue
            problems.append(p)
    for key, value in cfg.items():
        if key in _NOT_COMPONENTS:
            continue
        child_group = _group_for(key) or (group if group == "transforms" else None)
        if child_group is not None:
            _check_value(value, child_group, problems)
        elif key in ("train_cfg", "test_cfg") and isinstance(value, Mapping):
            for sub_key, sub in value.items():
                sub_group = _group_for(sub_key)
                if sub_group:
                    _check_value(sub, sub_group, problems)


def _check_value(value: Any, group: str, problems: list[str]) -> None:
    if isinstance(value, Mapping) and "type" in value:
        check_section(value, group, problems)
    elif isinstance(value, Sequence) and not isinstance(value, str):
        for item in value:
            _check_value(item, group, problems)


def check_config(cfg: Mapping[str, Any]) -> list[str]:
    """Every problem of a whole config (model, data, optimizer, hooks), as messages."""
    problems: list[str] = []
    model = cfg.get("model")
    if isinstance(model, Mapping):
        kind = model.get("type")
        name = kind.split(":", 1)[-1] if isinstance(kind, str) else ""
        from .discovery import components

        group = "segmentors" if any(i.name == name for i in components("segmentors")) else "detectors"
        check_section(model, group, problems)
    data = cfg.get("data")
    if isinstance(data, Mapping):
        for split in ("train", "val", "test"):
            if split in data:
                _check_value(data[split], "datasets", problems)
    optimizer = cfg.get("optimizer")
    if isinstance(optimizer, Mapping) and "type" in optimizer:
        _check_value(optimizer, "optimizers", problems)
    if "custom_hooks" in cfg:
        _check_value(cfg["custom_hooks"], "hooks", problems)
    log_config = cfg.get("log_config")
    if isinstance(log_config, Mapping) and "hooks" in log_config:
        _check_value(log_config["hooks"], "hooks", problems)
    return list(dict.fromkeys(problems))  # one line per distinct problem, in order
