"""Check every section of a training config before anything runs (``segdet check-config``).

The model, data sets, optimizer and hooks are checked by :func:`segdet.registry.check_config`
through what components declare. This module adds the engine's own sections, each against the
signature of what it configures: ``data`` loader keys, ``optimizer_config``, ``lr_config``,
``momentum_config``, ``checkpoint_config``, ``log_config``, ``evaluation``, ``runner``,
``workflow``, and top-level keys that look like a misspelled section.
Every message names the key path and where it was set.
"""
from __future__ import annotations

import difflib
import inspect
from collections.abc import Mapping, Sequence
from typing import Any

from ..config import to_plain
from ..errors import ConfigError, RegistryError
from ..registry import check_arguments, check_config, describe_location, resolve
from ..registry.slots import slots_of
from ..registry.values import annotation_problems
from .hooks import CheckpointHook, EvalHook, OptimizerHook, build_lr_hook, build_momentum_hook
from .runner import BaseRunner, runner_budget, runner_class, runner_config_keys

__all__ = ["check_training_config", "SECTIONS"]

#: top-level keys the engine reads (MMDetection 2.x's schema and MMCV's runtime keys)
SECTIONS = (
    "model", "data", "optimizer", "optimizer_config", "lr_config", "momentum_config", "runner",
    "workflow", "checkpoint_config", "log_config", "evaluation", "custom_hooks", "load_from",
    "resume_from", "auto_resume", "fp16", "work_dir", "dist_params", "log_level", "opencv_num_threads",
    "mp_start_method", "auto_scale_lr", "seed", "gpu_ids", "device", "cudnn_benchmark",
    "find_unused_parameters", "total_epochs", "custom_imports",
)
_DATA_KEYS = ("samples_per_gpu", "workers_per_gpu", "train", "val", "test", "persistent_workers",
              "train_dataloader", "val_dataloader", "test_dataloader", "pin_memory", "bad_samples")
_LOG_KEYS = ("interval", "hooks", "ignore_last", "reset_flag", "by_epoch")
_GRAD_CLIP_KEYS = ("max_norm", "norm_type", "error_if_nonfinite")


def _where(section: Any, key: str, fallback: str) -> str:
    where = describe_location(section, key)
    return where if "." in where or "(" in where else f"{fallback}.{key}"


def _signature_problems(section: Mapping[str, Any], target: Any, name: str, skip: Sequence[str] = ()) -> list[str]:
    args = {k: v for k, v in section.items() if k not in skip}
    problems = [p.replace("config:", f"{name}:", 1)
                for p in check_arguments(target, args, name, target.__name__, section)
                if "missing the required argument" not in p]
    problems += annotation_problems(target, args, target.__name__, lambda k: _where(section, k, name))
    return problems


def _check_data(data: Any) -> list[str]:
    if not isinstance(data, Mapping):
        return [f"data must be a dict(samples_per_gpu=..., train=..., ...), got {data!r}"]
    problems = []
    for key in data:
        if key not in _DATA_KEYS:
            close = difflib.get_close_matches(str(key), _DATA_KEYS, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else f"; data takes {', '.join(_DATA_KEYS)}"
            problems.append(f"{_where(data, key, 'data')}: unknown data key {key!r}{hint}")
    for key, low in (("samples_per_gpu", 1), ("workers_per_gpu", 0)):
        value = data.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < low):
            problems.append(f"{_where(data, key, 'data')}: expected an int >= {low}, got {value!r} "
                            f"({type(value).__name__})")
    if "train" not in data:
        problems.append("data: no 'train' split; add data=dict(train=dict(type=..., ...))")
    return problems


def _check_optimizer_config(opt_cfg: Any) -> list[str]:
    if not isinstance(opt_cfg, Mapping) or opt_cfg.get("type") not in (None, "OptimizerHook",
                                                                       "GradientCumulativeOptimizerHook",
                                                                       "Fp16OptimizerHook"):
        return []  # a named hook type: checked with the hooks
    problems = _signature_problems(opt_cfg, OptimizerHook, "optimizer_config", skip=("type", "loss_scale"))
    clip = opt_cfg.get("grad_clip")
    if isinstance(clip, Mapping):
        for key in clip:
            if key not in _GRAD_CLIP_KEYS:
                close = difflib.get_close_matches(str(key), _GRAD_CLIP_KEYS, n=1, cutoff=0.6)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                problems.append(f"{_where(clip, key, 'optimizer_config.grad_clip')}: unknown grad_clip key "
                                f"{key!r}{hint} (grad_clip takes {', '.join(_GRAD_CLIP_KEYS)})")
        if "max_norm" not in clip:
            problems.append("optimizer_config.grad_clip: needs max_norm, e.g. dict(max_norm=35, norm_type=2)")
    return problems


def _check_schedule(cfg: Any, key: str, iter_based: bool) -> list[str]:
    section = cfg.get(key)
    if section is None:
        return []
    build = build_lr_hook if key == "lr_config" else build_momentum_hook
    try:
        build(to_plain(section), False if iter_based else None)
    except Exception as err:  # each schedule checks its own arguments
        where = describe_location(section, "policy") if isinstance(section, Mapping) else key
        return [f"{where if '.' in where else key}: {err}"]
    return []


def _runner_class(runner: Mapping[str, Any]) -> type[BaseRunner]:
    """The class ``runner.type`` names in group ``runners`` (raises the registry's unknown-type error)."""
    return runner_class(runner.get("type", "EpochBasedRunner"), _where(runner, "type", "runner"))


def _check_runner(runner: Any) -> list[str]:
    if not isinstance(runner, Mapping):
        return [f"runner must be dict(type='EpochBasedRunner', max_epochs=N), got {runner!r}"]
    try:
        cls = _runner_class(runner)
    except (RegistryError, ConfigError) as err:
        return [str(err)]
    kind, wanted, allowed = cls.__name__, runner_budget(cls), sorted(runner_config_keys(cls))
    problems = []
    for key in runner:
        if key != "type" and key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else f"; {kind} takes {', '.join(allowed)}"
            problems.append(f"{_where(runner, key, 'runner')}: {kind} does not take {key!r}{hint}")
    value = runner.get(wanted)
    if value is None:
        problems.append(f"runner: {kind} needs {wanted}")
    elif not isinstance(value, int) or isinstance(value, bool) or value < 1:
        problems.append(f"{_where(runner, wanted, 'runner')}: expected a positive int, got {value!r}")
    return problems


def _check_workflow(workflow: Any) -> list[str]:
    ok = isinstance(workflow, (list, tuple)) and workflow and all(
        isinstance(w, (list, tuple)) and len(w) == 2 and w[0] in ("train", "val")
        and isinstance(w[1], int) and not isinstance(w[1], bool) and w[1] > 0 for w in workflow)
    return [] if ok else [f"workflow must be a list of (mode, epochs) with mode 'train' or 'val' and "
                          f"epochs > 0, e.g. [('train', 1)]; got {workflow!r}"]


def _check_evaluation(evaluation: Any) -> list[str]:
    if not isinstance(evaluation, Mapping):
        return [f"evaluation must be a dict(interval=..., metric=...), got {evaluation!r}"]
    hook_args = set(inspect.signature(EvalHook).parameters) - {"dataloader", "eval_kwargs", "test_fn"}
    own = {k: v for k, v in evaluation.items() if k in hook_args}
    problems = annotation_problems(EvalHook, own, "EvalHook", lambda k: _where(evaluation, k, "evaluation"))
    interval = evaluation.get("interval", 1)
    if isinstance(interval, int) and not isinstance(interval, bool) and interval < 1:
        problems.append(f"{_where(evaluation, 'interval', 'evaluation')}: expected an int >= 1, got {interval}")
    return problems


def _check_top_level(cfg: Mapping[str, Any]) -> list[str]:
    problems = []
    for key in cfg:
        if key in SECTIONS or not isinstance(key, str):
            continue
        close = difflib.get_close_matches(key, SECTIONS, n=1, cutoff=0.85)
        if close:
            problems.append(f"{_where(cfg, key, '')}: top-level key {key!r} is not read by segdet; "
                            f"did you mean {close[0]!r}?")
    return problems


def _resolved(section: Any, group: str) -> Any:
    kind = section.get("type") if isinstance(section, Mapping) else None
    if not isinstance(kind, str):
        return kind
    try:
        return resolve(kind, group, describe_location(section))
    except Exception:  # reported by the registry check already
        return None


def _arg(section: Mapping[str, Any], cls: Any, name: str) -> tuple[Any, str]:
    """The value ``cls`` gets for ``name`` (given, else its default) and where that comes from."""
    if name in section:
        return section[name], describe_location(section, name)
    try:
        param = inspect.signature(cls).parameters.get(name)
    except (TypeError, ValueError):
        param = None
    if param is None or param.default is inspect.Parameter.empty:
        return None, ""
    return param.default, f"{describe_location(section, 'type').split(' (')[0].rsplit('.', 1)[0]} (default)"


def _train_dataset(section: Any) -> tuple[Any, Any]:
    """The innermost training data set config and class (through RepeatDataset-like wrappers)."""
    for _ in range(8):
        cls = _resolved(section, "datasets")
        if cls is None:
            return None, None
        inner = [section.get(path) for path, slot in slots_of(cls).items() if slot.group.endswith("datasets")]
        inner = [i[0] if isinstance(i, (list, tuple)) and i else i for i in inner]
        inner = [i for i in inner if isinstance(i, Mapping)]
        if not inner:
            return section, cls
        section = inner[0]
    return None, None


def _check_ignore_index(tree: Mapping[str, Any]) -> list[str]:
    """The heads must ignore the label value the training data marks as ignored."""
    data, model = tree.get("data"), tree.get("model")
    if not isinstance(data, Mapping) or not isinstance(model, Mapping) or not isinstance(data.get("train"), Mapping):
        return []
    ds_cfg, ds_cls = _train_dataset(data["train"])
    if ds_cfg is None:
        return []
    ds_value, ds_where = _arg(ds_cfg, ds_cls, "ignore_index")
    if ds_value is None:
        return []
    model_cls = _resolved(model, "segmentors") or _resolved(model, "detectors")
    if model_cls is None:
        return []
    problems = []
    for path, slot in slots_of(model_cls).items():
        heads = model.get(path)
        for head in heads if isinstance(heads, (list, tuple)) else [heads]:
            if not isinstance(head, Mapping):
                continue
            head_cls = _resolved(head, slot.group)
            value, where = _arg(head, head_cls, "ignore_index") if head_cls is not None else (None, "")
            if value is not None and value != ds_value:
                problems.append(
                    f"{where}: ignore_index={value}, but the training data marks ignored pixels with "
                    f"ignore_index={ds_value} ({ds_where}); set the same value on both, or the loss will "
                    f"see {ds_value} as a class label")
    return problems


def _is_iter_based(runner: Any) -> bool:
    """Whether ``runner`` names an iteration-based runner (False when it names none: reported apart)."""
    if not isinstance(runner, Mapping) or "type" not in runner:
        return False
    try:
        return runner_budget(_runner_class(runner)) == "max_iters"
    except (RegistryError, ConfigError):
        return False


def check_training_config(cfg: Mapping[str, Any]) -> list[str]:
    """Every problem of a whole config, model to runner, as messages (empty: fine)."""
    tree = getattr(cfg, "_cfg_dict", cfg)
    problems = list(check_config(tree))
    problems += _check_top_level(tree)
    if "data" in tree:
        problems += _check_data(tree["data"])
    runner = tree.get("runner")
    iter_based = _is_iter_based(runner)
    if runner is not None:
        problems += _check_runner(runner)
    if tree.get("optimizer_config") is not None:
        problems += _check_optimizer_config(tree["optimizer_config"])
    problems += _check_schedule(tree, "lr_config", iter_based)
    problems += _check_schedule(tree, "momentum_config", iter_based)
    ckpt = tree.get("checkpoint_config")
    if isinstance(ckpt, Mapping):
        problems += _signature_problems(ckpt, CheckpointHook, "checkpoint_config", skip=("type", "meta"))
    log_config = tree.get("log_config")
    if isinstance(log_config, Mapping):
        for key in log_config:
            if key not in _LOG_KEYS:
                close = difflib.get_close_matches(str(key), _LOG_KEYS, n=1, cutoff=0.6)
                hint = f"; did you mean {close[0]!r}?" if close else f"; log_config takes {', '.join(_LOG_KEYS)}"
                problems.append(f"{_where(log_config, key, 'log_config')}: unknown key {key!r}{hint}")
    if tree.get("evaluation") is not None:
        problems += _check_evaluation(tree["evaluation"])
    if tree.get("workflow") is not None:
        problems += _check_workflow(tree["workflow"])
    problems += _check_ignore_index(tree)
    return list(dict.fromkeys(problems))
