from pathlib import Path

import mlflow

from vreid.tracking import mlflow_run, tracking_uri


def test_uri_precedence(monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert tracking_uri("") == "sqlite:///mlflow.db"
    assert tracking_uri("sqlite:///x.db") == "sqlite:///x.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///env.db")
    assert tracking_uri("sqlite:///x.db") == "sqlite:///env.db"


def test_logger_writes_params_metrics_tags(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'm.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.txt").write_text("hi")
    with mlflow_run("exp", "stage", tags={"vreid.stage": "x"}) as log:
        log.log_params({"train.lr": 0.1})
        log.log_metrics({"loss": 1.0}, step=0)
        log.log_metrics({"loss": 0.5}, step=1)
        log.log_artifact(tmp_path / "a.txt")
        run_id = log.run_id
    client = mlflow.MlflowClient(uri)
    run = client.get_run(run_id)
    assert run.data.params == {"train.lr": "0.1"} and run.data.tags["vreid.stage"] == "x"
    assert [m.value for m in client.get_metric_history(run_id, "loss")] == [1.0, 0.5]
    assert [a.path for a in client.list_artifacts(run_id)] == ["a.txt"]


def test_logged_model_pins_torch_and_loads_back(tmp_path, monkeypatch):
    import numpy as np
    import torch

    uri = f"sqlite:///{tmp_path / 'm.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.chdir(tmp_path)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(6, 2)).eval()
    example = np.ones((1, 2, 3), dtype=np.float32)
    with mlflow_run("exp", "stage") as log:
        log.log_torch_model(model, example)
        run_id = log.run_id
    client = mlflow.MlflowClient(uri)
    (logged,) = client.search_logged_models([client.get_run(run_id).info.experiment_id])
    requirements = Path(mlflow.artifacts.download_artifacts(
        artifact_uri=f"{logged.artifact_location}/requirements.txt",
        dst_path=str(tmp_path / "dl"))).read_text()
    assert f"torch=={torch.__version__.split('+')[0]}" in requirements.split(), requirements
    loaded = mlflow.pytorch.load_model(logged.model_uri)
    got = loaded(torch.from_numpy(example))
    assert torch.allclose(got, model(torch.from_numpy(example)))
