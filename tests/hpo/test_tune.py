"""A tiny Ray Tune search end to end: best params, MLflow child runs, resume."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import pytest
import yaml

from vreid.hpo.search import init_ray, run_search

from .conftest import tiny_tune_params


def _trial_runs(client, search_run_id):
    exp = client.get_experiment_by_name("vreid-test")
    runs = client.search_runs([exp.experiment_id])
    return [r for r in runs if r.data.tags.get("mlflow.parentRunId") == search_run_id]


@pytest.fixture
def local_ray():
    """One local Ray for both searches of the test (run_search reuses a running Ray)."""
    import ray

    assert init_ray()
    yield
    ray.shutdown()


@pytest.mark.integration  # a local Ray, two trials, then a resume
def test_tiny_search_writes_best_params_logs_children_and_resumes(tune_env, local_ray):
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
        assert run.data.tags["vreid.stage"] == "tune_trial"
        assert run.data.params["data.holdout_ids"] == "2"

    again = run_search(p, root=work)  # the same configuration: restored, nothing rerun
    assert again.restored and again.name == out.name
    assert {t.trial_id for t in again.trials} == {t.trial_id for t in out.trials}
    assert len(_trial_runs(client, out.search_run_id)) == 2
    assert again.best_value == out.best_value

    fresh = run_search(p, root=work, resume=False)  # --no-resume: the same search anew
    assert not fresh.restored and len(fresh.trials) == 2
    assert not {t.trial_id for t in fresh.trials} & {t.trial_id for t in out.trials}
    assert len(_trial_runs(client, out.search_run_id)) == 4


@pytest.mark.slow
def test_interrupted_search_resumes_without_rerunning_finished_trials(tune_env):
    """`vreid tune` is interrupted (SIGINT) once its first trial has finished; the
    resumed search runs only the unfinished trial."""
    work, tmp = tune_env
    p = tiny_tune_params(work, tmp, max_concurrent=1)
    params = yaml.safe_load((work / "params.yaml").read_text())
    params["tune"].update(max_concurrent=1, storage=p.tune.storage,
                          best_params=p.tune.best_params)
    params_path = tmp / "params.yaml"
    params_path.write_text(yaml.safe_dump(params, sort_keys=False))
    uri = p.tracking.tracking_uri
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri,
           "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    proc = subprocess.Popen([sys.executable, "-m", "vreid.cli", "tune", "--params",
                             str(params_path)], cwd=work, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        first = _wait_for_finished_trial(uri, proc, timeout=240)
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130 and "run it again to resume" in output, output[-3000:]
    assert not Path(p.tune.best_params).exists()

    out = run_search(p, root=work)
    assert out.restored and len(out.trials) == 2
    client = mlflow.MlflowClient(uri)
    runs = [r for r in client.search_runs(
        [client.get_experiment_by_name("vreid-test").experiment_id])
        if r.data.tags.get("vreid.stage") == "tune_trial"]
    per_trial = {}
    for run in runs:
        per_trial.setdefault(run.data.tags["vreid.tune.trial_id"], []).append(run)
    assert len(per_trial[first]) == 1  # the finished trial was not rerun
    (other,) = set(per_trial) - {first}
    assert any(r.info.status == "FINISHED" for r in per_trial[other])
    assert Path(p.tune.best_params).exists()


def _wait_for_finished_trial(uri, proc, timeout):
    client = mlflow.MlflowClient(uri)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read()[-3000:]
        exp = client.get_experiment_by_name("vreid-test")
        if exp is not None:
            for run in client.search_runs([exp.experiment_id]):
                if (run.data.tags.get("vreid.stage") == "tune_trial"
                        and run.info.status == "FINISHED"):
                    return run.data.tags["vreid.tune.trial_id"]
        time.sleep(0.2)
    raise AssertionError("no trial finished in time")
