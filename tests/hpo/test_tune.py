"""A tiny Ray Tune search end to end: best params, MLflow child runs, resume."""

import mlflow
import yaml

from vreid.hpo.search import run_search

from .conftest import tiny_tune_params


def _trial_runs(client, search_run_id):
    exp = client.get_experiment_by_name("vreid-test")
    runs = client.search_runs([exp.experiment_id])
    return [r for r in runs if r.data.tags.get("mlflow.parentRunId") == search_run_id]


def test_tiny_search_writes_best_params_logs_children_and_resumes(tune_env):
    work, tmp = tune_env
    p = tiny_tune_params(work, tmp)
    out = run_search(p, root=work)
    assert not out.restored and len(out.trials) == 2
    doc = yaml.safe_load(out.best_params_path.read_text())
    assert doc["metric"] == "val_mAP" and 0.0 <= doc["value"] <= 1.0
    space = {d.path: d for d in p.tune.space}
    assert set(doc["params"]) == set(space)
    for path, value in doc["params"].items():
        assert space[path].low <= value <= space[path].high
    assert doc["trial_id"] in {t.trial_id for t in out.trials}

    client = mlflow.MlflowClient(p.tracking.tracking_uri)
    search = client.get_run(out.search_run_id)
    assert search.data.tags["vreid.stage"] == "tune"
    assert search.data.tags["vreid.tune.best_trial_id"] == doc["trial_id"]
    children = _trial_runs(client, out.search_run_id)
    assert sorted(r.data.tags["vreid.tune.trial_id"] for r in children) == \
        sorted(t.trial_id for t in out.trials)
    for run in children:
        assert run.info.status == "FINISHED" and "val_mAP" in run.data.metrics
        assert run.data.params["data.holdout_ids"] == "2"

    again = run_search(p, root=work)  # the same configuration: restored, nothing rerun
    assert again.restored and again.name == out.name
    assert {t.trial_id for t in again.trials} == {t.trial_id for t in out.trials}
    assert len(_trial_runs(client, out.search_run_id)) == 2
    assert again.best_value == out.best_value
