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
