"""Send a run's parameters, tags, metrics and (optionally) its last checkpoint to MLflow."""
from __future__ import annotations

import os
from typing import Any

from segdet.api import LoggerHook, RunnerState

__all__ = ["MlflowLoggerHook"]

#: run meta entries logged as MLflow params (the config itself goes in as an artifact)
_PARAMS = ("exp_name", "seed", "segdet_version", "git_hash")


class MlflowLoggerHook(LoggerHook):
    """MMCV's MlflowLoggerHook: ``log_config=dict(hooks=[dict(type='MlflowLoggerHook', exp_name='shapes')])``.

    Args:
        exp_name: MLflow experiment (created when missing); None keeps MLflow's active/default one.
        tags: MLflow tags of the run (``dict``); ``segdet train --tags a b`` adds ``a`` and ``b`` as
            tags with the value ``"true"``.
        log_model: at the end of the run, log the work dir's ``latest.pth`` as an artifact under ``models/``.
        tracking_uri: where runs go (``file:/path/mlruns``, ``http://host:5000``); None uses
            ``MLFLOW_TRACKING_URI`` or MLflow's default.
        interval: logging interval in iterations (usually set by ``log_config.interval``).
        ignore_last: skip the last iterations of an epoch when fewer than ``interval``.
        reset_flag: clear the log buffer output after logging.
        by_epoch: count iterations within the epoch or across the run.

    Metrics are named ``train/loss``, ``val/bbox_mAP``, ``learning_rate``, ``momentum``, at the run's
    iteration as step. Params: ``exp_name``, ``seed``, ``segdet_version``, ``git_hash`` of the run's
    meta; the resolved config is the artifact ``config.py``. Only rank 0 logs.
    """

    def __init__(self, exp_name: str | None = None, tags: dict[str, Any] | None = None, log_model: bool = True,
                 tracking_uri: str | None = None, interval: int = 10, ignore_last: bool = True,
                 reset_flag: bool = False, by_epoch: bool = True) -> None:
        super().__init__(interval, ignore_last, reset_flag, by_epoch)
        self.exp_name = exp_name
        self.tags = dict(tags or {})
        self.log_model = log_model
        self.tracking_uri = tracking_uri
        self.run_id: str | None = None
        self._mlflow: Any = None

    def before_run(self, runner: RunnerState) -> None:
        super().before_run(runner)
        if runner.rank != 0:
            return
        try:
            import mlflow
        except ImportError as err:  # pragma: no cover - a dependency of this distribution
            raise ImportError("MlflowLoggerHook needs mlflow: pip install mlflow-skinny") from err
        self._mlflow = mlflow
        if self.tracking_uri:
            mlflow.set_tracking_uri(self.tracking_uri)
        if self.exp_name:
            mlflow.set_experiment(self.exp_name)
        run = mlflow.start_run()
        self.run_id = run.info.run_id
        tags = {str(k): str(v) for k, v in self.tags.items()}
        tags.update({str(t): "true" for t in (getattr(runner, "tags", None) or [])})
        if tags:
            mlflow.set_tags(tags)
        meta = runner.meta or {}
        params = {k: str(meta[k]) for k in _PARAMS if meta.get(k) is not None}
        if params:
            mlflow.log_params(params)
        if isinstance(meta.get("config"), str):
            mlflow.log_text(meta["config"], "config.py")

    def log(self, runner: RunnerState) -> None:
        if self._mlflow is None:
            return
        metrics = {k: float(v) for k, v in self.get_loggable_tags(runner).items()
                   if isinstance(v, (int, float))}
        if metrics:
            self._mlflow.log_metrics(metrics, step=self.get_iter(runner))

    def after_run(self, runner: RunnerState) -> None:
        if self._mlflow is None:
            return
        latest = os.path.join(runner.work_dir, "latest.pth")
        if self.log_model and os.path.isfile(latest):
            self._mlflow.log_artifact(os.path.realpath(latest), "models")
        self._mlflow.end_run()
        self._mlflow = None
