"""Assemble a run from a config: loaders, optimizer, runner, default and custom hooks (MMDetection's
``train_detector``)."""
from __future__ import annotations

import copy
import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any, Union

import torch
from torch import nn

from ..config import to_plain
from ..data.builder import build_dataloader, build_dataset
from ..errors import ConfigError
from ..registry import build
from .amp import amp_settings
from .checkpoint import find_resumable_checkpoint, remove_stale_tmp_files
from .dist import convert_sync_batchnorm, get_dist_info, wrap_for_training
from .hooks import (
    CheckpointHook,
    DistSamplerSeedHook,
    EvalHook,
    IterTimerHook,
    OptimizerHook,
    build_lr_hook,
    build_momentum_hook,
)
from .hooks.evaluation import split_evaluation_cfg
from .logger import get_logger
from .meta import checkpoint_meta
from .optimizer import build_optimizer
from .runner import BaseRunner, IterBasedRunner, build_runner

__all__ = ["train_model", "train_detector", "register_training_hooks", "resolve_device", "uses_sync_bn"]

_LOGGER_HOOK_KEYS = ("interval", "ignore_last", "reset_flag", "by_epoch")


def resolve_device(device: Union[str, torch.device, None]) -> torch.device:
    """``None`` -> CUDA when available, else CPU; ``'cuda'`` without a GPU is an error."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda was asked for, but torch sees no CUDA device; use --device cpu")
    return dev


def uses_sync_bn(cfg: Any) -> bool:
    """True when any ``norm_cfg`` of the model config has ``type='SyncBN'``."""
    if isinstance(cfg, Mapping):
        norm = cfg.get("norm_cfg")
        if isinstance(norm, Mapping) and norm.get("type") == "SyncBN":
            return True
        return any(uses_sync_bn(v) for v in cfg.values())
    if isinstance(cfg, (list, tuple)):
        return any(uses_sync_bn(v) for v in cfg)
    return False




def register_training_hooks(runner: BaseRunner, cfg: Mapping[str, Any]) -> None:
    """Default hooks from ``lr_config``, ``momentum_config``, ``optimizer_config``, ``checkpoint_config``,
    ``IterTimerHook``, ``log_config`` then ``custom_hooks`` (MMCV's order; priorities decide calls)."""
    iter_based = isinstance(runner, IterBasedRunner)
    default_by_epoch = False if iter_based else None
    lr_config = cfg.get("lr_config")
    if lr_config is not None:
        runner.register_hook(build_lr_hook(to_plain(lr_config), default_by_epoch), "VERY_HIGH")
    momentum_config = cfg.get("momentum_config")
    if momentum_config is not None:
        runner.register_hook(build_momentum_hook(to_plain(momentum_config), default_by_epoch), "HIGH")
    opt_cfg = dict(to_plain(cfg.get("optimizer_config") or {}))
    opt_type = opt_cfg.pop("type", None)
    if opt_type is not None and opt_type not in ("OptimizerHook", "GradientCumulativeOptimizerHook",
                                                  "Fp16OptimizerHook"):
        runner.register_hook(build(dict(type=opt_type, **opt_cfg), "hooks"), "ABOVE_NORMAL")
    else:
        opt_cfg.pop("loss_scale", None)  # Fp16OptimizerHook's key: fp16 comes from cfg.fp16
        runner.register_hook(OptimizerHook(**opt_cfg), "ABOVE_NORMAL")
    ckpt_cfg = dict(to_plain(cfg.get("checkpoint_config") or {}))
    ckpt_cfg.pop("meta", None)
    ckpt_cfg.pop("type", None)
    if iter_based:
        ckpt_cfg.setdefault("by_epoch", False)
    runner.register_hook(CheckpointHook(**ckpt_cfg), "NORMAL")
    runner.register_hook(IterTimerHook(), "LOW")
    _register_logger_hooks(runner, to_plain(cfg.get("log_config") or {}), iter_based)
    for hook_cfg in to_plain(cfg.get("custom_hooks") or []):
        _register_custom_hook(runner, hook_cfg)


def _register_logger_hooks(runner: BaseRunner, log_config: Mapping[str, Any], iter_based: bool) -> None:
    shared = {k: log_config[k] for k in _LOGGER_HOOK_KEYS if k in log_config}
    if iter_based:
        shared.setdefault("by_epoch", False)
    for item in log_config.get("hooks", [dict(type="TextLoggerHook")]):
        if not isinstance(item, Mapping):
            raise ConfigError(f"log_config.hooks: each item must be a dict(type=...), got {item!r}")
        item = dict(item)
        hook = build(item, "hooks", default_args=shared)
        runner.register_hook(hook, item.get("priority", "VERY_LOW"))


def _register_custom_hook(runner: BaseRunner, hook_cfg: Mapping[str, Any]) -> None:
    if not isinstance(hook_cfg, Mapping):
        raise ConfigError(f"custom_hooks: each item must be a dict(type=...), got {hook_cfg!r}")
    hook_cfg = dict(hook_cfg)
    priority = hook_cfg.pop("priority", "NORMAL")
    hook = build(hook_cfg, "hooks")
    runner.register_hook(hook, priority)


def _loader_args(cfg: Mapping[str, Any], distributed: bool, seed: int | None) -> dict[str, Any]:
    data = cfg["data"]
    args = dict(samples_per_gpu=data.get("samples_per_gpu", 2), workers_per_gpu=data.get("workers_per_gpu", 2),
                dist=distributed, seed=seed, persistent_workers=data.get("persistent_workers", False))
    args.update(to_plain(data.get("train_dataloader", {})))
    return args


def _build_val_loader(cfg: Mapping[str, Any], distributed: bool, val_dataset: Any = None) -> Any:
    data = cfg["data"]
    if val_dataset is None:
        val_cfg = copy.deepcopy(to_plain(data["val"]))
        val_cfg.pop("samples_per_gpu", None)
        val_dataset = build_dataset(val_cfg, dict(test_mode=True))
    args = dict(samples_per_gpu=to_plain(data["val"]).get("samples_per_gpu", 1),
                workers_per_gpu=data.get("workers_per_gpu", 2), dist=distributed, shuffle=False)
    args.update(to_plain(data.get("val_dataloader", {})))
    return build_dataloader(val_dataset, **args)


def train_model(model: nn.Module, datasets: Union[Any, Sequence[Any]], cfg: Any, distributed: bool = False,
                validate: bool = False, timestamp: str | None = None, meta: dict | None = None,
                device: Union[str, torch.device, None] = None, logger: logging.Logger | None = None,
                val_dataset: Any = None, tags: Sequence[str] = ()) -> BaseRunner:
    """Train ``model`` on ``datasets`` (one per workflow entry) as ``cfg`` says; returns the runner.

    ``cfg`` is a :class:`segdet.config.Config` (or a mapping) with the MMDetection 2.x keys:
    ``data``, ``optimizer``, ``optimizer_config``, ``lr_config``, ``momentum_config``,
    ``runner``, ``workflow``, ``checkpoint_config``, ``log_config``, ``evaluation``,
    ``custom_hooks``, ``fp16``, ``load_from``, ``resume_from``, ``auto_resume``, ``work_dir``.
    """
    logger = logger or get_logger("segdet")
    datasets = list(datasets) if isinstance(datasets, (list, tuple)) else [datasets]
    rank, world_size = get_dist_info()
    seed = cfg.get("seed")
    loaders = [build_dataloader(ds, **_loader_args(cfg, distributed, seed)) for ds in datasets]
    dev = resolve_device(device)
    if uses_sync_bn(to_plain(cfg.get("model", {}))) or any(isinstance(m, nn.SyncBatchNorm) for m in model.modules()):
        model = convert_sync_batchnorm(model, dev, logger, distributed)
    model = model.to(dev)
    step_module = wrap_for_training(model, dev, distributed, bool(cfg.get("find_unused_parameters", False)))
    optimizer = build_optimizer(model, _scaled_optimizer_cfg(cfg, world_size, logger))
    meta = checkpoint_meta(cfg, datasets[0], meta)
    runner_cfg = to_plain(cfg.get("runner")) or dict(type="EpochBasedRunner", max_epochs=cfg.get("total_epochs", 12))
    runner = build_runner(runner_cfg, dict(
        model=model, optimizer=optimizer, work_dir=cfg.get("work_dir"), logger=logger, meta=meta,
        step_module=step_module, device=dev, amp=amp_settings(_fp16_cfg(cfg), dev, logger),
        rank=rank, world_size=world_size, timestamp=timestamp))
    runner.tags = list(tags)
    register_training_hooks(runner, cfg)
    if not isinstance(runner, IterBasedRunner):
        runner.register_hook(DistSamplerSeedHook(), "NORMAL")
    if validate:
        eval_cfg = dict(to_plain(cfg.get("evaluation") or {}))
        eval_cfg.setdefault("by_epoch", not isinstance(runner, IterBasedRunner))
        runner.register_hook(_build_eval_hook(_build_val_loader(cfg, distributed, val_dataset), eval_cfg), "LOW")
    _load_or_resume(runner, cfg, logger)
    workflow = [tuple(w) for w in (cfg.get("workflow") or [("train", 1)])]
    runner.run(loaders, workflow)
    return runner


def _fp16_cfg(cfg: Any) -> dict | None:
    """``fp16=dict(...)``, or ``optimizer_config.use_fp16=True`` (the Swin fork's switch) as
    ``fp16=dict(loss_scale='dynamic')``."""
    fp16 = to_plain(cfg.get("fp16"))
    opt_cfg = cfg.get("optimizer_config") or {}
    if not fp16 and isinstance(opt_cfg, Mapping) and opt_cfg.get("use_fp16"):
        return {"loss_scale": "dynamic"}
    return fp16


def _scaled_optimizer_cfg(cfg: Any, world_size: int, logger: logging.Logger) -> dict[str, Any]:
    """``optimizer`` with ``lr`` scaled by ``total batch / auto_scale_lr.base_batch_size`` when enabled."""
    opt_cfg = dict(to_plain(cfg["optimizer"]))
    scale_cfg = to_plain(cfg.get("auto_scale_lr") or {})
    if not scale_cfg.get("enable", False):
        return opt_cfg
    if "base_batch_size" not in scale_cfg:
        raise ConfigError("auto_scale_lr.enable=True needs auto_scale_lr.base_batch_size")
    batch_size = world_size * int(cfg["data"].get("samples_per_gpu", 2))
    scaled = opt_cfg["lr"] * batch_size / scale_cfg["base_batch_size"]
    logger.info(f"LR scaled from {opt_cfg['lr']} to {scaled} for a total batch of {batch_size} "
                f"(auto_scale_lr.base_batch_size={scale_cfg['base_batch_size']})")
    opt_cfg["lr"] = scaled
    return opt_cfg


def _build_eval_hook(loader: Any, eval_cfg: dict) -> EvalHook:
    """``evaluation=dict(...)``: EvalHook's own arguments go to the hook, every other key to the
    metrics (through :mod:`segdet.evaluation.route`); see :func:`split_evaluation_cfg`."""
    hook_kwargs, options = split_evaluation_cfg(eval_cfg)
    return EvalHook(loader, eval_kwargs=options, **hook_kwargs)


def _load_or_resume(runner: BaseRunner, cfg: Any, logger: logging.Logger) -> None:
    if runner.rank == 0 and runner.work_dir and os.path.isdir(runner.work_dir):
        remove_stale_tmp_files(runner.work_dir, logger)
    resume_from = cfg.get("resume_from")
    if resume_from is None and cfg.get("auto_resume"):
        resume_from, skipped = find_resumable_checkpoint(runner.work_dir, logger)
        if resume_from is None:
            logger.info(f"auto-resume: no {'usable ' if skipped else ''}checkpoint in {runner.work_dir}; "
                        "starting from scratch")
        else:
            logger.info(f"auto-resume: resuming from {resume_from}")
    if resume_from:
        runner.resume(resume_from)
    elif cfg.get("load_from"):
        runner.load_checkpoint(cfg["load_from"])


train_detector = train_model
