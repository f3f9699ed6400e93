"""MLflow tracking behind the trainer's MetricLogger protocol.

Imported only by the front doors (CLI, flows, tuning): the core never imports mlflow.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping

from .env import disable_telemetry

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"


def tracking_uri(configured: str = "") -> str:
    """MLFLOW_TRACKING_URI wins, then params.yaml, then sqlite:///mlflow.db in the cwd."""
    return os.environ.get("MLFLOW_TRACKING_URI") or configured or DEFAULT_TRACKING_URI


class MlflowLogger:
    """Implements vreid.engine.MetricLogger on the active MLflow run."""

    def __init__(self, mlflow_module: Any, run_id: str) -> None:
        self._mlflow = mlflow_module
        self.run_id = run_id

    def log_params(self, params: Mapping[str, Any]) -> None:
        # MLflow caps a param value at 6000 characters; ours are short scalars/lists.
        self._mlflow.log_params({k: str(v) for k, v in params.items()})

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        self._mlflow.log_metrics({k.replace("@", "_"): float(v) for k, v in metrics.items()},
                                 step=step)

    def log_artifact(self, path: str | Path) -> None:
        self._mlflow.log_artifact(str(path))

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        self._mlflow.set_tags({k: str(v) for k, v in tags.items()})

    def log_torch_model(self, model: Any, input_example: Any, name: str = "model") -> None:
        """Log the model in MLflow's default (pt2) format, which needs an input example.

        The requirements are given, not inferred: a pt2 program needs torch alone, and
        MLflow's inference re-imports the model in a subprocess (about 14 s a stage).
        """
        import torch

        self._mlflow.pytorch.log_model(
            model, name=name, input_example=input_example,
            pip_requirements=[f"torch=={torch.__version__.split('+')[0]}"])


def _pipeline_parent(mlflow: Any, experiment_id: str, key: str, run_name: str | None = None,
                     tags: Mapping[str, str] | None = None) -> str:
    """The pipeline run of this configuration: found by its key, created if absent.

    `run_name` / `tags` shape a created run (a tuning search is the parent of its trials).
    """
    found = mlflow.search_runs(
        [experiment_id], filter_string=f"tags.`vreid.pipeline_key` = '{key}'",
        max_results=1, output_format="list")
    if found:
        return found[0].info.run_id
    client = mlflow.MlflowClient()
    run = client.create_run(experiment_id, run_name=run_name or f"pipeline-{key[:8]}",
                            tags={"vreid.pipeline_key": key, "vreid.stage": "pipeline",
                                  **(tags or {})})
    client.set_terminated(run.info.run_id)
    return run.info.run_id


def parent_run(experiment: str, key: str, configured_uri: str = "", run_name: str | None = None,
               tags: Mapping[str, str] | None = None, parent_key: str | None = None) -> str:
    """Id of the run that runs started with `parent_key=key` nest under (created if absent);
    with `parent_key`, that run itself nests under the pipeline run of `parent_key`."""
    mlflow, experiment_id, tags = _connect(experiment, configured_uri, tags, parent_key)
    return _pipeline_parent(mlflow, experiment_id, key, run_name, tags)


def _connect(experiment: str, configured_uri: str, tags: Mapping[str, str] | None,
             parent_key: str | None) -> tuple[Any, str, dict[str, str]]:
    """MLflow pointed at the store and experiment; `tags` plus the parent link, if any."""
    disable_telemetry()
    import mlflow

    mlflow.set_tracking_uri(tracking_uri(configured_uri))
    experiment_id = mlflow.set_experiment(experiment).experiment_id
    tags = dict(tags or {})
    if parent_key:
        tags["mlflow.parentRunId"] = _pipeline_parent(mlflow, experiment_id, parent_key)
    return mlflow, experiment_id, tags


@contextmanager
def mlflow_run(
    experiment: str,
    run_name: str,
    configured_uri: str = "",
    tags: Mapping[str, str] | None = None,
    parent_key: str | None = None,
) -> Iterator[MlflowLogger]:
    """One stage run; with `parent_key`, nested under that configuration's pipeline run."""
    mlflow, _, tags = _connect(experiment, configured_uri, tags, parent_key)
    import mlflow.pytorch  # noqa: F401  (log_torch_model needs the flavour loaded)

    with mlflow.start_run(run_name=run_name, tags=tags) as run:
        yield MlflowLogger(mlflow, run.info.run_id)
