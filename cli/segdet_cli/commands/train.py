"""``segdet train CONFIG``: MMDetection's tools/train.py as a command."""
from __future__ import annotations

import copy
import json
import os
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any

import click

from segdet.config import to_plain

from ._common import GreedyOption, cfg_options_option, fail, load_config
from ._datasets import build_split, check_samples, pop_bad_sample_policies, require_not_empty
from ._mmcompat import (
    LAUNCHER_CHOICES,
    apply_speedups,
    compile_error_message,
    gpu_options,
    resolve_gpu_device,
    speedup_options,
)

__all__ = ["train", "prepare_datasets_or_fail", "debug_subset", "shapes_hint"]

_DEBUG_ITERS = 3
_DEBUG_VAL_IMAGES = 4


def shapes_hint(cfg: Mapping[str, Any]) -> str:
    """The command that makes the shapes data a config points at, or ``''``."""
    data = to_plain(cfg.get("data", {}))
    for section in ("train", "val", "test"):
        ds = data.get(section) or {}
        ds = ds.get("dataset", ds)  # RepeatDataset and friends
        for key in ("ann_file", "img_prefix", "data_root"):
            path = str(ds.get(key) or "")
            if "shapes" not in path:
                continue
            for marker in ("/annotations", "/images", "/semantic"):
                if marker in path:
                    path = path.split(marker)[0]
            return f"segdet data shapes --out {path.rstrip('/')} --seed 0 --num-train 600 --num-val 100"
    return ""




def _truncated(dataset: Any, n: int) -> Any | None:
    """A shallow copy of ``dataset`` whose per-image lists are cut to ``n``, when its length follows."""
    if len(dataset) <= n:
        return dataset
    total = len(dataset)
    copied = copy.copy(dataset)
    for attr in ("data_infos", "img_infos", "img_ids", "flag", "img_metas", "data_list"):
        value = getattr(copied, attr, None)
        if value is not None and hasattr(value, "__len__") and len(value) == total:
            setattr(copied, attr, value[:n])
    try:
        return copied if len(copied) == n else None
    except TypeError:
        return None


class _Subset:
    """The first ``n`` items of a data set, keeping ``CLASSES`` (used when it cannot be truncated)."""

    def __init__(self, dataset: Any, n: int) -> None:
        self.dataset, self.n = dataset, n
        self.CLASSES = getattr(dataset, "CLASSES", None)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> Any:
        if index >= self.n:
            raise IndexError(index)
        return self.dataset[index]


def debug_subset(dataset: Any, n: int, evaluable: bool = False) -> Any:
    """``--debug``: the first ``n`` images; evaluation needs a truncatable data set, else the full one."""
    cut = _truncated(dataset, n)
    if cut is not None:
        return cut
    return dataset if evaluable else _Subset(dataset, n)


def _apply_debug(cfg: Any) -> None:
    runner = dict(to_plain(cfg.get("runner") or {}))
    if runner.get("type") == "IterBasedRunner":
        cfg["runner"] = dict(type="IterBasedRunner", max_iters=2 * _DEBUG_ITERS)
        cfg["checkpoint_config"] = dict(to_plain(cfg.get("checkpoint_config") or {}), interval=_DEBUG_ITERS)
        cfg["evaluation"] = dict(to_plain(cfg.get("evaluation") or {}), interval=_DEBUG_ITERS)
    else:
        cfg["runner"] = dict(type="EpochBasedRunner", max_epochs=2)
        cfg["checkpoint_config"] = dict(to_plain(cfg.get("checkpoint_config") or {}), interval=1)
        cfg["evaluation"] = dict(to_plain(cfg.get("evaluation") or {}), interval=1)
    cfg["log_config"] = dict(to_plain(cfg.get("log_config") or {}), interval=1)
    cfg["data"]["workers_per_gpu"] = 0


def prepare_datasets_or_fail(cfg: Any, debug: bool = False, policies: dict[str, str] | None = None,
                             notes: list[str] | None = None) -> list[Any]:
    """Build the training data set(s) before any model, turning missing files into a fix.

    With ``policies`` (``bad_samples`` per split) every sample is checked first
    (``segdet check-data``): bad ones stop the run or are left out, with a line in ``notes``.
    """
    from segdet.errors import SegdetError

    config = getattr(cfg, "filename", None) or "config"
    try:
        datasets = [build_split("train", to_plain(cfg["data"]["train"]), config)]
        workflow = cfg.get("workflow") or [("train", 1)]
        if len(workflow) == 2:
            val = copy.deepcopy(to_plain(cfg["data"]["val"]))
            train_cfg = to_plain(cfg["data"]["train"])
            val["pipeline"] = train_cfg.get("pipeline", train_cfg.get("dataset", {}).get("pipeline"))
            datasets.append(build_split("val", val, config))
    except (FileNotFoundError, SegdetError) as err:
        hint = shapes_hint(cfg) if isinstance(err, FileNotFoundError) and _missing_is_shapes(err) else ""
        if hint and "segdet data shapes" in str(err):
            hint = ""  # the data set's own message already says it
        fail(f"{err}" + (f"\nThe shapes data set is missing; make it with:\n    {hint}" if hint else ""))
    for split, ds in zip(("train", "val"), datasets):
        try:
            require_not_empty(split, ds, to_plain(cfg["data"][split]), config)
        except SegdetError as err:
            fail(str(err))
    if policies is not None:
        for i, split in enumerate(("train", "val")[:len(datasets)]):
            try:
                datasets[i], note = check_samples(split, datasets[i], policies[split], config)
            except SegdetError as err:
                fail(str(err))
            if note and notes is not None:
                notes.append(note)
    if debug:
        n = _DEBUG_ITERS * int(cfg["data"].get("samples_per_gpu", 2))
        datasets = [debug_subset(ds, n) for ds in datasets]
    return datasets


def _missing_is_shapes(err: BaseException) -> bool:
    """The shapes hint only when the missing path is under the shapes data (not any other folder)."""
    missing = str(getattr(err, "filename", None) or err)
    return "shapes" in missing


def _check_config(cfg: Any) -> None:
    try:
        from segdet_cli.commands.config import check_config_problems
    except ImportError:
        from segdet.registry import import_custom_modules

        import_custom_modules(cfg.get("custom_imports"))
        return
    problems = check_config_problems(cfg)
    if problems:
        fail(f"{getattr(cfg, 'filename', 'config')}: {len(problems)} problem{'s' if len(problems) != 1 else ''}:\n"
             + "\n".join(f"- {p}" for p in problems))


def _setup_work_dir(cfg: Any, config: str, work_dir: str | None) -> str:
    if work_dir:
        cfg["work_dir"] = work_dir
    elif not cfg.get("work_dir"):
        cfg["work_dir"] = os.path.join("work_dirs", os.path.splitext(os.path.basename(config))[0])
    cfg["work_dir"] = os.path.abspath(cfg["work_dir"])
    return str(cfg["work_dir"])


def _write_run_files(cfg: Any, config: str, work_dir: str, timestamp: str, env: dict[str, Any]) -> None:
    os.makedirs(work_dir, exist_ok=True)
    dump = getattr(cfg, "dump", None)
    target = os.path.join(work_dir, os.path.basename(config))
    if callable(dump):
        dump(target)
    with open(os.path.join(work_dir, "env.json"), "w") as f:
        json.dump(env, f, indent=2, default=str)
    with open(os.path.join(work_dir, f"{timestamp}.env.json"), "w") as f:
        json.dump(env, f, indent=2, default=str)


def _build_model(cfg: Any) -> Any:
    """Build the model, then load pretrained parts (``init_cfg`` / ``pretrained``) as MMCV's
    ``init_weights`` does: construction reads no file, initialisation does."""
    from segdet.models.builder import build_model

    model = build_model(to_plain(cfg["model"]))
    if hasattr(model, "init_weights"):
        model.init_weights()
    return model


@click.command("train")
@click.argument("config", type=click.Path(exists=True, dir_okay=False))
@click.option("--work-dir", default=None, help="Where logs and checkpoints go (default work_dirs/<config name>).")
@click.option("--load-from", default=None, help="Checkpoint whose weights initialise the model.")
@click.option("--resume-from", default=None, help="Checkpoint to resume training from.")
@click.option("--auto-resume", is_flag=True, help="Resume from the latest checkpoint in the work dir.")
@click.option("--no-validate", is_flag=True, help="Do not evaluate during training.")
@click.option("--seed", type=int, default=None, help="Random seed (default: random, logged).")
@click.option("--deterministic", is_flag=True, help="Deterministic algorithms (slower).")
@cfg_options_option
@click.option("--debug", is_flag=True, help=f"2 epochs of {_DEBUG_ITERS} iterations, evaluation on a few images.")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default=None, help="Default: cuda when available.")
@click.option("--launcher", type=click.Choice(LAUNCHER_CHOICES), default="none",
              help="pytorch: under torchrun; slurm: under srun; mpi: under mpirun (Open MPI).")
@gpu_options(with_gpus=True)
@click.option("--diff-seed", "--diff_seed", "diff_seed", is_flag=True,
              help="A different seed on each rank (seed + rank), as MMDetection's --diff-seed.")
@click.option("--auto-scale-lr", is_flag=True, help="Scale the LR by total batch / auto_scale_lr.base_batch_size.")
@click.option("--tags", cls=GreedyOption, multiple=True, help="Labels recorded in the log and logger hooks.")
@click.option("--no-data-check", is_flag=True,
              help="Skip the check of every sample before training (segdet check-data).")
@speedup_options(with_fuse=False)
def train(config: str, work_dir: str | None, load_from: str | None, resume_from: str | None,
          auto_resume: bool, no_validate: bool, seed: int | None, deterministic: bool,
          cfg_options: Sequence[str], debug: bool, device: str | None, launcher: str,
          auto_scale_lr: bool, tags: Sequence[str], no_data_check: bool, gpus: int | None = None,
          gpu_ids: Sequence[int] = (), gpu_id: int | None = None, local_rank: int | None = None,
          diff_seed: bool = False, channels_last: bool = False, compile_: bool = False) -> None:
    """Train a model from CONFIG."""
    from segdet.errors import SegdetError

    device = resolve_gpu_device(device, gpu_id, gpu_ids, gpus, launcher, local_rank)

    cfg = load_config(config, cfg_options)
    try:
        policies = pop_bad_sample_policies(cfg)  # data.<split>.bad_samples: not an argument of the data sets
    except SegdetError as err:
        fail(str(err))
    _check_config(cfg)
    if debug:
        _apply_debug(cfg)
    work_dir = _setup_work_dir(cfg, config, work_dir)
    if load_from:
        cfg["load_from"] = load_from
    if resume_from:
        cfg["resume_from"] = resume_from
    cfg["auto_resume"] = auto_resume
    if auto_scale_lr:
        cfg["auto_scale_lr"] = dict(to_plain(cfg.get("auto_scale_lr") or {}), enable=True)
    try:
        _run(cfg, config, work_dir, no_validate, seed, deterministic, debug, device, launcher, list(tags),
             None if no_data_check else policies, diff_seed, dict(channels_last=channels_last, compile=compile_))
    except SegdetError as err:
        from segdet_cli.main import describe_error

        raise click.ClickException(describe_error(err)) from err
    except Exception as err:
        message = compile_error_message(err) if compile_ else None
        if message is None:
            raise
        raise click.ClickException(message) from err


def _run(cfg: Any, config: str, work_dir: str, no_validate: bool, seed: int | None, deterministic: bool,
         debug: bool, device: str | None, launcher: str, tags: list[str],
         policies: dict[str, str] | None = None, diff_seed: bool = False,
         speedups: dict[str, bool] | None = None) -> None:
    import torch

    from segdet.engine.dist import get_dist_info, init_dist
    from segdet.engine.env import collect_env, init_random_seed, plugins_used, set_random_seed
    from segdet.engine.logger import get_logger
    from segdet.engine.meta import checkpoint_meta
    from segdet.engine.runtime import apply_runtime, dist_backend, log_level
    from segdet.engine.train import resolve_device, train_model

    runtime = apply_runtime(cfg)
    distributed = launcher != "none"
    dev = init_dist(launcher, backend=dist_backend(cfg), device=device) if distributed else resolve_device(device)
    rank, _ = get_dist_info()
    notes: list[str] = []
    datasets = prepare_datasets_or_fail(cfg, debug, policies, notes)
    timestamp = time.strftime("%Y%m%d_%H%M%S", time.localtime())
    env = collect_env()
    env.update(plugins_used=plugins_used(to_plain(cfg)), tags=tags, config=os.path.abspath(config),
               argv=sys.argv, timestamp=timestamp)
    if rank == 0:
        _write_run_files(cfg, config, work_dir, timestamp, env)
    logger = get_logger("segdet", os.path.join(work_dir, f"{timestamp}.log") if rank == 0 else None,
                        log_level=log_level(cfg))
    logger.info("Environment info:\n" + "\n".join(f"{k}: {v}" for k, v in env.items()))
    logger.info("runtime: " + ", ".join(f"{k}={v}" for k, v in runtime.items()))
    if tags:
        logger.info(f"tags: {', '.join(tags)}")
    logger.info(f"Distributed training: {distributed}")
    logger.info(f"Config:\n{getattr(cfg, 'pretty_text', cfg)}")
    seed = init_random_seed(seed if seed is not None else cfg.get("seed"), dev.type)
    if diff_seed:
        seed = seed + rank
    logger.info(f"Set random seed to {seed}, deterministic: {deterministic}")
    set_random_seed(seed, deterministic)
    cfg["seed"] = seed
    if cfg.get("cudnn_benchmark", False) and not deterministic:
        torch.backends.cudnn.benchmark = True
    model = _build_model(cfg)
    speedups = speedups or {}
    apply_speedups(model, dev, logger, channels_last=bool(speedups.get("channels_last")),
                   compile_=bool(speedups.get("compile")))
    classes = getattr(datasets[0], "CLASSES", None)
    model.CLASSES = classes
    meta = checkpoint_meta(cfg, datasets[0], dict(exp_name=os.path.basename(config), tags=tags), env=env)
    val_dataset = None
    if not no_validate:
        val_cfg = copy.deepcopy(to_plain(cfg["data"]["val"]))
        val_cfg.pop("samples_per_gpu", None)
        val_dataset = build_split("val", val_cfg, getattr(cfg, "filename", None) or config, dict(test_mode=True))
        require_not_empty("val", val_dataset, val_cfg, getattr(cfg, "filename", None) or config, test_mode=True)
        if policies is not None:
            val_dataset, note = check_samples("val", val_dataset, policies["val"],
                                              getattr(cfg, "filename", None) or config)
            notes.append(note)
        if debug:
            val_dataset = debug_subset(val_dataset, _DEBUG_VAL_IMAGES, evaluable=True)
    for note in notes:
        if note:
            logger.warning(note)
    runner = train_model(model, datasets, cfg, distributed=distributed, validate=not no_validate,
                         timestamp=timestamp, meta=meta, device=dev, logger=logger, val_dataset=val_dataset,
                         tags=tags)
    logger.info(f"Training finished at epoch {runner.epoch}, iter {runner.iter}; work_dir: {work_dir}")
