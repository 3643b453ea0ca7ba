"""Check a whole config before anything is built: every ``type`` resolves, every key fits.

The walk follows what components declare about themselves (their ``slots``, see
:mod:`segdet.registry.slots`): a detector names its ``backbone``/``neck``/heads, a head its
losses and task modules, a dataset its ``pipeline``.  The core keeps no table of config keys,
so a new child slot of a plugin is checked as soon as the plugin declares it.

All problems are collected, so one run of ``segdet check-config`` lists them all.
"""
from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import RegistryError
from .build import check_arguments, describe_location, find_info, resolve, takes_argument
from .slots import Slot, slots_of
from .values import annotation_problems

__all__ = ["check_config", "check_section", "lookup_path"]

_MISSING = object()


def lookup_path(args: Mapping[str, Any], dotted: str) -> Any:
    """``args['train_cfg']['assigner']`` for ``'train_cfg.assigner'``; ``_MISSING`` when absent.

    A list on the way (a cascade's per-stage ``train_cfg``) gives the list of what each item holds.
    """
    values: list[Any] = [args]
    through_list = False
    for part in dotted.split("."):
        found: list[Any] = []
        for value in values:
            items = value if isinstance(value, (list, tuple)) else [value]
            through_list = through_list or isinstance(value, (list, tuple))
            found.extend(item[part] for item in items if isinstance(item, Mapping) and part in item)
        values = found
    if not values:
        return _MISSING
    return values if through_list else values[0]


def check_section(cfg: Mapping[str, Any], group: str, problems: list[str],
                  filled: tuple[str, ...] = (), passed: Mapping[str, Any] | None = None) -> None:
    """Check one ``dict(type=...)`` of ``group`` and, recursively, the children it declares.

    Args:
        cfg: the component's config.
        group: its entry-point group.
        problems: messages are appended here.
        filled: constructor arguments the parent supplies at build time (may be absent here).
        passed: values the parent hands down (``train_cfg`` from ``train_cfg.rpn``, ...), used
            where ``cfg`` leaves the argument out.
    """
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
        return
    args: dict[str, Any] = {k: v for k, v in cfg.items() if k != "type"}
    for key, value in (passed or {}).items():
        if args.get(key) is None and value is not _MISSING:
            args[key] = value
    # what the parent fills counts as given, where the component takes it (a neck that computes no
    # strides simply does not take ``in_strides``)
    present = {**{k: None for k in filled if takes_argument(obj, k)}, **args}
    at = where.split(" (")[0].rsplit(".", 1)[0] or "config"
    problems.extend(check_arguments(obj, present, at, display, cfg))
    problems.extend(annotation_problems(obj, args, display, lambda key: describe_location(cfg, key)))
    check_children(obj, cfg, args, problems)


def _default(obj: Any, name: str) -> Any:
    """The constructor's default for ``name`` (None when it has none or it is None)."""
    try:
        param = inspect.signature(obj).parameters.get(name)
    except (TypeError, ValueError):
        return None
    if param is None or param.default is inspect.Parameter.empty:
        return None
    return param.default


def check_children(obj: Any, cfg: Mapping[str, Any], args: Mapping[str, Any], problems: list[str]) -> None:
    """Check every child ``obj`` declares in its ``slots``, with what it fills and passes."""
    for path, slot in slots_of(obj).items():
        value = lookup_path(args, path)
        if value is _MISSING or value is None:
            if not slot.optional and "." not in path and _default(obj, path) is None:
                owner = getattr(obj, "__name__", type(obj).__name__)
                problems.append(f"{describe_location(cfg, path)}: {owner} needs {path!r} "
                                f"(a dict(type=...) of group {slot.group!r})")
            continue
        passed = {child_arg: lookup_path(args, parent_key) for child_arg, parent_key in slot.passes.items()}
        _check_value(value, slot, problems, passed)


def _check_value(value: Any, slot: Slot, problems: list[str], passed: Mapping[str, Any]) -> None:
    if isinstance(value, Mapping) and "type" in value:
        check_section(value, slot.group, problems, (*slot.fills, *slot.passes), passed)
    elif isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        for item in value:
            _check_value(item, slot, problems, passed)


def _check_top(value: Any, group: str, problems: list[str], filled: tuple[str, ...] = ()) -> None:
    _check_value(value, Slot(group, fills=filled), problems, {})


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
                _check_top(data[split], "datasets", problems)
    optimizer = cfg.get("optimizer")
    if isinstance(optimizer, Mapping) and "type" in optimizer:
        _check_optimizer(optimizer, problems)
    if "custom_hooks" in cfg:
        _check_top(cfg["custom_hooks"], "hooks", problems)
    log_config = cfg.get("log_config")
    if isinstance(log_config, Mapping) and "hooks" in log_config:
        _check_top(log_config["hooks"], "hooks", problems)
    return list(dict.fromkeys(problems))  # one line per distinct problem, in order


def _check_optimizer(optimizer: Mapping[str, Any], problems: list[str]) -> None:
    """The engine gives ``params``; ``paramwise_cfg`` is the engine's key, not the optimizer's."""
    found: list[str] = []
    check_section(optimizer, "optimizers", found, filled=("params",))
    problems.extend(p for p in found if "unexpected argument 'paramwise_cfg'" not in p)
