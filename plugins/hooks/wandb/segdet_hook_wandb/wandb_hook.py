"""Send a run's config, tags, metrics and work-dir files to Weights & Biases."""
from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from segdet.api import LoggerHook, RunnerState

__all__ = ["WandbLoggerHook"]

#: run meta entries put into the W&B run config (besides ``init_kwargs['config']``)
_META = ("exp_name", "seed", "segdet_version", "git_hash", "CLASSES")


class WandbLoggerHook(LoggerHook):
    """MMCV's WandbLoggerHook: ``log_config=dict(hooks=[dict(type='WandbLoggerHook', init_kwargs=dict(project='x'))])``.

    Args:
        init_kwargs: arguments of ``wandb.init`` (``project``, ``name``, ``mode='offline'``, ``tags``,
            ``config``, ``dir``, ...); ``dir`` defaults to the work dir.
        interval: logging interval in iterations (usually set by ``log_config.interval``).
        ignore_last: skip the last iterations of an epoch when fewer than ``interval``.
        reset_flag: clear the log buffer output after logging.
        commit: passed to ``wandb.log``.
        by_epoch: count iterations within the epoch or across the run.
        with_step: log with the run's iteration as ``step`` (else W&B counts).
        log_artifact: at the end, upload the work dir's files ending with ``out_suffix`` as an artifact.
        out_suffix: the file endings ``log_artifact`` uploads.

    ``segdet train --tags a b`` are added to the run's tags; the run meta (``exp_name``, ``seed``,
    ``segdet_version``, ``git_hash``, ``CLASSES``) and the resolved config text (``config_text``) go
    into the run config. Metrics are named ``train/loss``, ``val/bbox_mAP``, ``learning_rate``, ...
    Only rank 0 logs. Tests run it with ``mode='offline'``.
    """

    def __init__(self, init_kwargs: dict[str, Any] | None = None, interval: int = 10, ignore_last: bool = True,
                 reset_flag: bool = False, commit: bool = True, by_epoch: bool = True, with_step: bool = True,
                 log_artifact: bool = True, out_suffix: str | Sequence[str] = (".log.json", ".log", ".py")) -> None:
        super().__init__(interval, ignore_last, reset_flag, by_epoch)
        self.init_kwargs = dict(init_kwargs or {})
        self.commit = commit
        self.with_step = with_step
        self.log_artifact = log_artifact
        self.out_suffix = (out_suffix,) if isinstance(out_suffix, str) else tuple(out_suffix)
        self.run: Any = None

    def before_run(self, runner: RunnerState) -> None:
        super().before_run(runner)
        if runner.rank != 0:
            return
        try:
            import wandb
        except ImportError as err:  # pragma: no cover - a dependency of this distribution
            raise ImportError("WandbLoggerHook needs wandb: pip install wandb") from err
        kwargs = dict(self.init_kwargs)
        kwargs.setdefault("dir", runner.work_dir)
        tags = list(kwargs.pop("tags", None) or [])
        tags += [str(t) for t in (getattr(runner, "tags", None) or []) if str(t) not in tags]
        meta = runner.meta or {}
        config = {k: meta[k] for k in _META if meta.get(k) is not None}
        if isinstance(meta.get("config"), str):
            config["config_text"] = meta["config"]
        config.update(dict(kwargs.pop("config", None) or {}))
        self.run = wandb.init(tags=tags or None, config=config, **kwargs)

    def log(self, runner: RunnerState) -> None:
        if self.run is None:
            return
        tags = self.get_loggable_tags(runner)
        if not tags:
            return
        if self.with_step:
            self.run.log(tags, step=self.get_iter(runner), commit=self.commit)
        else:
            tags["global_step"] = self.get_iter(runner)
            self.run.log(tags, commit=self.commit)

    def after_run(self, runner: RunnerState) -> None:
        if self.run is None:
            return
        if self.log_artifact:
            import wandb

            files = sorted(f for f in os.listdir(runner.work_dir)
                           if f.endswith(self.out_suffix) and os.path.isfile(os.path.join(runner.work_dir, f)))
            if files:
                artifact = wandb.Artifact(name="artifacts", type="model")
                for name in files:
                    artifact.add_file(os.path.join(runner.work_dir, name))
                self.run.log_artifact(artifact)
        self.run.finish()
        self.run = None
