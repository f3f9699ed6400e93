"""The tiny Tune search against a Ray head started by infra/ray-head.sh (`ray start --head`
on loopback), not an in-process Ray; the head is stopped after, also on failure."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import mlflow
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "infra" / "ray-head.sh"

pytestmark = pytest.mark.integration  # starts a Ray head


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if proc.name.isdigit() and text in cmd:
            found.append(f"{proc.name}: {cmd[:120]}")
    return found


@pytest.fixture
def ray_head(tmp_path):
    temp = tempfile.mkdtemp(prefix="vr-", dir="/tmp")  # short: Ray's socket paths live here
    port = _free_port()
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
           "PYTHONPATH": str(REPO / "src"), "RAY_HEAD_PORT": str(port), "RAY_HEAD_CPUS": "2",
           "RAY_HEAD_DIR": str(tmp_path / "head"), "RAY_TEMP_DIR": temp, "RAY_STOP_GRACE": "3"}

    def stop():
        subprocess.run([str(SCRIPT), "stop"], env=env, capture_output=True, timeout=60)
        deadline = time.monotonic() + 10
        while (left := _processes_mentioning(temp)) and time.monotonic() < deadline:
            time.sleep(0.5)
        shutil.rmtree(temp, ignore_errors=True)
        assert not left, f"ray head processes left running: {left}"

    try:
        started = subprocess.run([str(SCRIPT), "start"], env=env, capture_output=True,
                                 text=True, timeout=180)
        assert started.returncode == 0, started.stdout + started.stderr
        assert f"127.0.0.1:{port}" in started.stdout
        yield f"127.0.0.1:{port}", Path(temp)
    finally:
        stop()


def test_tiny_search_runs_on_a_ray_head(ray_head, chain_models, tmp_path):
    address, temp = ray_head
    params = yaml.safe_load((chain_models / "params.yaml").read_text())
    params["tune"].update(storage=str(tmp_path / "tune"),
                          best_params=str(tmp_path / "best_params.yaml"))
    params_path = tmp_path / "params.yaml"
    params_path.write_text(yaml.safe_dump(params, sort_keys=False))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "MLFLOW_TRACKING_URI": uri,
           "RAY_USAGE_STATS_ENABLED": "0", "MLFLOW_DISABLE_TELEMETRY": "true"}
    env.pop("RAY_ADDRESS", None)
    proc = subprocess.run([sys.executable, "-m", "vreid.cli", "tune", "--params",
                           str(params_path), "--address", address], cwd=chain_models, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    doc = yaml.safe_load((tmp_path / "best_params.yaml").read_text())
    bounds = {d["path"]: (d["low"], d["high"]) for d in params["tune"]["space"]}
    assert {k: bounds[k][0] <= v <= bounds[k][1] for k, v in doc["params"].items()} == \
        {k: True for k in bounds}
    # The trials ran in the head's worker processes (their logs are in its session folder).
    assert list(temp.glob("session_*/logs/worker-*")), "no worker ran on the ray head"
    client = mlflow.MlflowClient(uri)
    exp = client.get_experiment_by_name(params["tracking"]["experiment"])
    trials = [r for r in client.search_runs([exp.experiment_id])
              if "vreid.tune.trial_id" in r.data.tags]
    assert len(trials) == 2 and all(r.info.status == "FINISHED" for r in trials)
