"""Scheduling needs a real Prefect server: the ephemeral mode is refused; against a
`prefect server start` on loopback (started by infra/prefect-server.sh) the served
retraining deployment gets a scheduled run that completes."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

import vreid
from vreid.config import load_params
from vreid.flows.retraining import watched_datasets
from vreid.flows.schedule import ServerUnavailable, require_server, schedules
from vreid.pipeline.fingerprint import dataset_digest
from vreid.tracking.env import TELEMETRY_OFF

REPO = Path(vreid.__file__).resolve().parents[2]
SRC = Path(vreid.__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ephemeral_mode_is_refused_with_how_to_start_a_server():
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        with pytest.raises(ServerUnavailable, match="ephemeral.*cannot schedule.*prefect-server"):
            require_server()


def test_vreid_schedule_without_a_server_exits_with_the_reason(in_prepared):
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from typer.testing import CliRunner

    from vreid.cli import app

    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        result = CliRunner().invoke(app, ["schedule", "--cron", "0 3 * * 0"])
    assert result.exit_code == 1
    assert "cannot schedule" in " ".join(result.output.split())


def test_unreachable_server_is_named():
    from prefect.settings import PREFECT_API_URL, temporary_settings

    url = f"http://127.0.0.1:{free_port()}/api"
    with temporary_settings({PREFECT_API_URL: url}):
        with pytest.raises(ServerUnavailable, match=f"no Prefect server answers at .*{url}"):
            require_server(timeout=2)


def test_schedules_weekly_cron_by_default_and_interval_on_request():
    (weekly,) = schedules(None, None)
    assert weekly.cron == "0 3 * * 0"
    cron, every = schedules("0 4 * * *", 30)
    assert cron.cron == "0 4 * * *" and every.interval.total_seconds() == 30
    (only,) = schedules(None, 5)
    assert only.interval.total_seconds() == 5
    with pytest.raises(ValueError, match="--interval must be positive"):
        schedules(None, 0)
    with pytest.raises(ValueError, match="Invalid cron string"):
        schedules("every sunday", None)


def _env(**extra) -> dict[str, str]:
    env = {**os.environ, **TELEMETRY_OFF, **extra}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), *filter(None, [env.get("PYTHONPATH")])])
    return env


def _start(cmd, log: Path, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(cmd, stdout=log.open("w"), stderr=subprocess.STDOUT,
                            start_new_session=True, **kwargs)


def _stop(proc: subprocess.Popen) -> None:
    """SIGINT then SIGKILL to the process group this test started, then to any of its
    descendants left (Prefect starts flow runs in sessions of their own)."""
    import psutil

    try:
        descendants = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        descendants = []
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    for child in descendants:
        try:
            child.kill()
        except psutil.NoSuchProcess:
            pass


@pytest.fixture
def prefect_server(tmp_path):
    """infra/prefect-server.sh on a free loopback port, state in a temporary folder."""
    port = free_port()
    log = tmp_path / "server.log"
    env = _env(PREFECT_SERVER_PORT=str(port), PREFECT_UI_ENABLED="false",
               PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS="2")
    proc = _start(["bash", str(REPO / "infra/prefect-server.sh"), str(tmp_path / "server")],
                  log, env=env)
    url = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"prefect server exited: {log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"prefect server not healthy in 90 s: {log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        _stop(proc)


def _flow_runs(url: str) -> list[dict]:
    """Runs of deployments (not their sub-flow runs), oldest first."""
    response = httpx.post(f"{url}/flow_runs/filter", json={
        "flow_runs": {"deployment_id": {"is_null_": False}},
        "sort": "EXPECTED_START_TIME_ASC", "limit": 50}, timeout=10)
    response.raise_for_status()
    return response.json()


def _logs(url: str, flow_run_id: str) -> str:
    response = httpx.post(f"{url}/logs/filter", json={
        "logs": {"flow_run_id": {"any_": [flow_run_id]}}, "sort": "TIMESTAMP_ASC",
        "limit": 200}, timeout=10)
    response.raise_for_status()
    return "\n".join(entry["message"] for entry in response.json())


def serve_until_a_scheduled_run_finishes(url, work, tmp_path, timeout):
    """`vreid schedule --interval 3` in `work`; the first scheduled run that finishes."""
    log = tmp_path / "schedule.log"
    env = _env(PREFECT_API_URL=url, PREFECT_HOME=str(tmp_path / "client"),
               PREFECT_RUNNER_POLL_FREQUENCY="1",
               MLFLOW_TRACKING_URI=f"sqlite:///{work / 'mlflow.db'}")
    proc = _start([sys.executable, "-m", "vreid.cli", "schedule", "--params", "params.yaml",
                   "--interval", "3"], log, cwd=work, env=env)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"vreid schedule exited: {log.read_text()[-3000:]}")
            for run in _flow_runs(url):
                if run["state_type"] in ("COMPLETED", "FAILED", "CRASHED"):
                    logs, until = "", time.monotonic() + 30  # logs reach the API in batches
                    while "Finished in state" not in logs and time.monotonic() < until:
                        time.sleep(1)
                        logs = _logs(url, run["id"])
                    return run, logs
            time.sleep(1)
        pytest.fail(f"no scheduled run finished in {timeout} s: {log.read_text()[-3000:]}")
    finally:
        _stop(proc)


@pytest.fixture
def served_work(prepared, tmp_path, tiny_params_writer, monkeypatch):
    import shutil

    work = tmp_path / "work"
    shutil.copytree(prepared / "data", work / "data")
    tiny_params_writer(work, tracking={"experiment": "vreid-sched", "log_model": False},
                       eval={"untrained_baseline": False})
    monkeypatch.chdir(work)
    return work


@pytest.mark.integration  # a Prefect server and `vreid schedule` as subprocesses
def test_served_deployment_runs_on_schedule_and_skips_unchanged_data(prefect_server,
                                                                    served_work, tmp_path):
    """Quick variant: the data's fingerprint is already in the state file, so the scheduled
    run fingerprints the data, finds nothing new, and completes without training."""
    p = load_params(served_work / "params.yaml")
    state = served_work / "reports/retraining_state.json"
    state.parent.mkdir(parents=True)
    data = {name: dataset_digest(getattr(p.data, name)) for name in watched_datasets(p)}
    state.write_text(json.dumps({"data": data, "flow_run_id": "earlier"}))

    run, logs = serve_until_a_scheduled_run_finishes(prefect_server, served_work, tmp_path, 120)
    assert run["state_type"] == "COMPLETED", logs
    assert run["deployment_id"] and run["expected_start_time"]  # a run of the served deployment
    assert "no new or changed data since flow run earlier" in logs
    assert json.loads(state.read_text())["flow_run_id"] == "earlier"  # untouched


@pytest.mark.slow
def test_scheduled_run_retrains_on_new_data_and_promotes(prefect_server, served_work, tmp_path):
    """Full variant: no state yet, so the scheduled run trains the chain, evaluates,
    registers the model and promotes it (no champion yet); MLflow runs carry its id."""
    import mlflow

    run, logs = serve_until_a_scheduled_run_finishes(prefect_server, served_work, tmp_path, 420)
    assert run["state_type"] == "COMPLETED", logs
    state = json.loads((served_work / "reports/retraining_state.json").read_text())
    assert state["retrained"] and state["promoted"] and state["flow_run_id"] == run["id"]
    client = mlflow.MlflowClient(f"sqlite:///{served_work / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("vreid-sched")
    tagged = [r for r in client.search_runs([experiment.experiment_id])
              if r.data.tags.get("prefect.root_flow_run_id") == run["id"]]
    assert {r.data.tags["vreid.stage"] for r in tagged} >= {"train_video", "evaluate"}
    assert str(client.get_model_version_by_alias("vreid", "champion").version) == state["version"]
