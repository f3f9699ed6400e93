"""The training flow: every stage runs as a task, a re-run is served from the cache,
MLflow runs carry the Prefect flow run id and URL."""

import mlflow
import pytest
import yaml

from vreid.flows.training import training_flow

pytestmark = pytest.mark.integration  # the whole flow through a Prefect API server

STAGES = ["prepare", "validate", "pretrain_parsing", "pretrain_image", "finetune_image",
          "train_video", "evaluate", "evaluate_metadata", "export", "benchmark", "tune"]


def task_states(flow_state):
    """Task run name prefix -> state name, read back from the Prefect API."""
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.client.schemas.sorting import TaskRunSort

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(
            id=FlowRunFilterId(any_=[flow_state.state_details.flow_run_id])),
            sort=TaskRunSort.EXPECTED_START_TIME_ASC, limit=100)
    return {run.name.rsplit("-", 1)[0] if run.name.split("-")[0] in STAGES else run.name:
            run.state.name for run in runs}


def mlflow_runs(work):
    client = mlflow.MlflowClient(f"sqlite:///{work / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("vreid-flow")
    return client.search_runs([experiment.experiment_id])


def test_flow_runs_every_stage_and_tags_mlflow_runs(first_run, flow_work):
    assert first_run.is_completed()
    out = first_run.result()
    assert list(out) == STAGES
    assert task_states(first_run) == {stage: "Completed" for stage in STAGES}
    assert (flow_work / "models/train_video/model.pt").is_file()
    assert 0.0 <= out["evaluate"].metrics["rank1"] <= 1.0
    flow_run_id = str(first_run.state_details.flow_run_id)
    tracked = {r.data.tags["vreid.stage"]: r for r in mlflow_runs(flow_work)
               if r.data.tags.get("prefect.flow_run_id") == flow_run_id}
    assert sorted(tracked) == sorted(["pretrain_parsing", "pretrain_image", "finetune_image",
                                      "train_video", "evaluate", "evaluate_metadata", "export", "benchmark", "tune"])
    assert (flow_work / "models/export/model.onnx").is_file()
    for run in tracked.values():
        assert run.data.tags["prefect.flow_run_id"] == flow_run_id
        assert run.data.tags["prefect.root_flow_run_id"] == flow_run_id  # not a sub-flow
        assert run.data.tags["prefect.flow_run_url"].endswith(f"/flow-runs/flow-run/{flow_run_id}")


def test_rerun_with_unchanged_inputs_is_served_from_the_cache(first_run, flow_work):
    before = len(mlflow_runs(flow_work))
    second = training_flow("params.yaml", return_state=True)
    assert task_states(second) == {stage: "Cached" for stage in STAGES}
    assert second.result()["evaluate"].metrics == first_run.result()["evaluate"].metrics
    assert len(mlflow_runs(flow_work)) == before  # no stage ran, so no new MLflow run


def test_changed_params_section_or_missing_output_reruns_only_that_stage(first_run, flow_work):
    params = yaml.safe_load((flow_work / "params.yaml").read_text())
    params["eval"]["max_rank"] = 10
    (flow_work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    changed = training_flow("params.yaml", return_state=True)
    cached = {stage: "Cached" for stage in STAGES}
    # both evaluations read the `eval` section (as in dvc.yaml)
    assert task_states(changed) == cached | {"evaluate": "Completed",
                                             "evaluate_metadata": "Completed"}

    (flow_work / "reports/metrics.json").unlink()  # the cached result would point at nothing
    assert task_states(training_flow("params.yaml", return_state=True)) == \
        cached | {"evaluate": "Completed"}
    assert (flow_work / "reports/metrics.json").is_file()
