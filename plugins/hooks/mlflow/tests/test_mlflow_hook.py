"""MlflowLoggerHook writes a real run to a local file store: read it back with MlflowClient."""
from __future__ import annotations

import pytest

from segdet.testing import LinearToy, linear_batches, register_training_hooks, toy_runner

mlflow = pytest.importorskip("mlflow")


def test_run_metrics_params_tags_and_model(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 asks for this to use a plain folder
    uri = f"file:{tmp_path / 'mlruns'}"
    runner = toy_runner(LinearToy(3, 1), work_dir=str(tmp_path / "work"), max_epochs=2, momentum=0.9)
    runner.tags = ["exp-a", "shapes"]
    runner.meta.update(exp_name="toy.py", seed=7, segdet_version="0.1.0", config="model = dict(type='X')\n")
    hook = dict(type="MlflowLoggerHook", exp_name="segdet-test", tags=dict(team="vision"), tracking_uri=uri)
    register_training_hooks(runner, dict(
        lr_config=dict(policy="step", step=[1]),
        checkpoint_config=dict(interval=1),
        log_config=dict(interval=2, hooks=[dict(type="TextLoggerHook"), hook])))
    runner.run([linear_batches(4, in_features=3, out_features=1)], [("train", 1)])

    client = mlflow.tracking.MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name("segdet-test")
    (run,) = client.search_runs([exp.experiment_id])
    assert run.info.status == "FINISHED"
    assert {"team": "vision", "exp-a": "true", "shapes": "true"}.items() <= run.data.tags.items()
    assert run.data.params == {"exp_name": "toy.py", "seed": "7", "segdet_version": "0.1.0"}
    lr = client.get_metric_history(run.info.run_id, "learning_rate")
    assert [m.step for m in lr] == [2, 4, 6, 8]
    assert [m.value for m in lr] == pytest.approx([0.1, 0.1, 0.01, 0.01])
    assert len(client.get_metric_history(run.info.run_id, "train/loss")) == 4
    names = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"config.py", "models"} <= names
    (model,) = client.list_artifacts(run.info.run_id, "models")
    assert model.path == "models/latest.pth" and model.file_size > 0
    config = mlflow.artifacts.load_text(f"{run.info.artifact_uri}/config.py")
    assert config == "model = dict(type='X')\n"
