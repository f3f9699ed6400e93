"""Connecting to Ray (an existing cluster, or an in-process local one) and running plain
functions as Ray tasks: the Tune search and the leaderboard's (entry, seed) jobs share it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Sequence

from ..tracking.env import TELEMETRY_OFF


def _code_path() -> str:
    """Trials import the same vreid as this process (a source checkout or the installed one)."""
    import vreid

    here = str(Path(vreid.__file__).resolve().parents[1])
    return os.pathsep.join([here, *filter(None, [os.environ.get("PYTHONPATH", "")])])


def _is_loopback(address: str) -> bool:
    """A head on this host's loopback (infra/ray-head.sh's default), e.g. 127.0.0.1:6379."""
    host = address.split("://")[-1].rsplit(":", 1)[0].strip("[]")
    return host.startswith("127.") or host in ("localhost", "::1")


def _cluster_env(address: str) -> None:
    """Before Ray is imported (it reads these at import): a loopback head keeps its node on
    127.0.0.1 (see infra/ray-head.sh); a token in ~/.ray (or RAY_AUTH_TOKEN*) is sent."""
    if _is_loopback(address):
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    if (Path.home() / ".ray" / "auth_token").is_file() or any(
            os.environ.get(k) for k in ("RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")):
        os.environ.setdefault("RAY_AUTH_MODE", "token")


def init_ray(address: str = "", mlflow_uri: str = "") -> bool:
    """Connect to `address` or start an in-process local Ray; True if this call started it
    (False when Ray is already up: a caller running several searches starts it once)."""
    import ray

    if ray.is_initialized():
        return False
    env = {**TELEMETRY_OFF, "PYTHONPATH": _code_path()}
    if mlflow_uri:
        env["MLFLOW_TRACKING_URI"] = mlflow_uri
    runtime_env = {"env_vars": env}
    if address:
        ray.init(address=address, runtime_env=runtime_env, log_to_driver=True)
    else:
        ray.init(address="local", include_dashboard=False, runtime_env=runtime_env,
                 object_store_memory=128 * 1024 * 1024)
    return True


def ray_map(fn: Callable[..., Any], args: Sequence[tuple], address: str = "",
            num_cpus: float = 1.0, mlflow_uri: str = "") -> list[Any]:
    """[fn(*a) for a in args], each call a Ray task of `num_cpus` CPUs on the cluster at
    `address` (local Ray when empty); results in the order of `args`. A task that raises
    re-raises here (the others still finish: their side effects, e.g. files, remain)."""
    if address:
        _cluster_env(address)
    import ray

    started = init_ray(address, mlflow_uri)
    try:
        remote = ray.remote(num_cpus=num_cpus)(fn)
        refs = [remote.remote(*a) for a in args]
        ray.wait(refs, num_returns=len(refs))  # every task ends before the first error is raised
        return ray.get(refs)
    finally:
        if started:
            ray.shutdown()
