"""Integration: PostgreSQL and `mlflow server` started with the infra/ scripts on loopback;
a tiny model trained with the tracking URI at the server, registered and promoted through
it. Everything started here is stopped by the fixtures' finalizers, also on failure."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import mlflow
import pytest

from vreid.config import load_params
from vreid.tracking.registry import CHAMPION, promote
from vreid.tracking.stages import pipeline_key, run_train_stage

INFRA = Path(__file__).resolve().parents[2] / "infra"
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))

pytestmark = [pytest.mark.integration, pytest.mark.skipif(
    not (PG_BIN / "initdb").is_file() or shutil.which("curl") is None,
    reason=f"needs PostgreSQL 15 binaries in {PG_BIN} and curl")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _script(*args: str, env: dict, timeout: float) -> str:
    out = subprocess.run([str(INFRA / args[0]), *args[1:]], env={**os.environ, **env},
                         capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, f"{args}: {out.stdout}\n{out.stderr}"
    return out.stdout.strip()


@pytest.fixture(scope="module")
def services():
    """PostgreSQL, then the MLflow server on it; both stopped (in reverse) at the end."""
    # Not under pytest's 0700 tmp dirs: the postgres OS user must reach the data dir.
    root = Path(tempfile.mkdtemp(prefix="vreid-infra-"))
    root.chmod(0o755)
    pg_env = {"PG_BIN": str(PG_BIN), "PG_PORT": str(_free_port())}
    port = _free_port()
    server_env = {**pg_env, "MLFLOW": str(Path(sys.executable).with_name("mlflow")),
                  "MLFLOW_PORT": str(port), "MLFLOW_STATE_DIR": str(root / "server"),
                  "MLFLOW_ARTIFACTS_DESTINATION": str(root / "artifacts"),
                  "MLFLOW_START_TIMEOUT": "90"}
    started = []
    try:
        _script("postgres.sh", "start", str(root / "pg"), env=pg_env, timeout=90)
        started.append(("postgres.sh", "stop", str(root / "pg")))
        backend = _script("postgres.sh", "uri", env=pg_env, timeout=10)
        assert backend.startswith("postgresql+psycopg2://mlflow:")
        started.append(("mlflow-server.sh", "stop"))  # stop is a no-op if start failed early
        _script("mlflow-server.sh", "start",
                env={**server_env, "MLFLOW_BACKEND_STORE_URI": backend}, timeout=120)
        yield {"uri": f"http://127.0.0.1:{port}", "artifacts": root / "artifacts"}
    finally:
        for args in reversed(started):
            subprocess.run([str(INFRA / args[0]), *args[1:]], env={**os.environ, **server_env},
                           capture_output=True, timeout=90)
        shutil.rmtree(root, ignore_errors=True)


def test_train_register_promote_through_the_server(services, prepared, tiny_params_writer,
                                                   tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", services["uri"])
    monkeypatch.chdir(tmp_path)
    data = prepared / "data" / "synthetic"
    params = tiny_params_writer(
        tmp_path,
        data={"video": {"name": "mars", "root": str(data / "mars")},
              "image": {"name": "market1501", "root": str(data / "market1501")},
              "parsing": {"name": "lip", "root": str(data / "lip")}},
        stages={"train_video": {
            "model": {"name": "resnet_tap", "kwargs": {"depth": 18}},
            "input": {"height": 32, "width": 16, "clip_len": 2},
            "train": {"epochs": 1, "ids_per_batch": 3, "instances_per_id": 2,
                      "iters_per_epoch": 2, "warmup_epochs": 1, "milestones": [1]}}},
        tracking={"experiment": "vreid-infra", "log_model": False})
    p = load_params(params)
    key = pipeline_key(params)
    trained = run_train_stage(p, "train_video", key=key)

    first = promote(p, trained.model_path, key=key)
    assert first.promoted and first.version == "1"
    # The champion comes back from the server's artifact store and scores the same.
    again = promote(p, trained.model_path, key=key)
    assert not again.promoted and again.champion_version == "1"
    assert again.champion_metrics == again.challenger_metrics == first.challenger_metrics

    client = mlflow.MlflowClient(services["uri"])
    name = p.promote.registered_name
    assert str(client.get_model_version_by_alias(name, CHAMPION).version) == "1"
    assert client.get_model_version(name, "2").tags["vreid.promoted"] == "false"
    runs = client.search_runs([client.get_experiment_by_name("vreid-infra").experiment_id])
    stages = sorted(r.data.tags.get("vreid.stage") for r in runs)
    assert stages == ["pipeline", "promote", "promote", "train_video"]
    stored = {f.name for f in services["artifacts"].rglob("*") if f.is_file()}
    assert "model.pt" in stored  # proxied by the server, not written by the client
