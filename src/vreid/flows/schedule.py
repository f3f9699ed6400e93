"""Serve the retraining flow as a deployment on a schedule, against a real Prefect server.

    prefect server start  (or infra/prefect-server.sh)
    export PREFECT_API_URL=http://127.0.0.1:4200/api
    vreid schedule --cron "0 3 * * 0"

`serve` registers the deployment with its schedules and keeps a runner polling the server
for due runs, running each in a subprocess, until interrupted. Without PREFECT_API_URL,
Prefect would start an ephemeral in-process API that stops with this process and has no
scheduler: that is refused with a message saying how to start a server.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

DEFAULT_CRON = "0 3 * * 0"  # Sundays 03:00
DEPLOYMENT = "vreid-retraining"


class ServerUnavailable(RuntimeError):
    """No Prefect server to schedule on (ephemeral mode or unreachable)."""


def require_server(timeout: float = 5.0) -> str:
    """The API URL of a reachable Prefect server, or a clear error."""
    import httpx
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    if not url:
        raise ServerUnavailable(
            "PREFECT_API_URL is not set, so Prefect would use an ephemeral in-process API, "
            "which cannot schedule runs (it has no scheduler and stops with this process). "
            "Start a server (`infra/prefect-server.sh` or `prefect server start`) and "
            "`export PREFECT_API_URL=http://127.0.0.1:4200/api`.")
    try:
        httpx.get(f"{url.rstrip('/')}/health", timeout=timeout).raise_for_status()
    except httpx.HTTPError as exc:
        raise ServerUnavailable(f"no Prefect server answers at PREFECT_API_URL={url} ({exc}); "
                                "start one with `infra/prefect-server.sh`.") from None
    return url


def schedules(cron: str | None, interval: float | None, timezone: str = "UTC") -> list[Any]:
    """The cron schedule and/or the interval schedule; the weekly cron when neither is given."""
    from prefect.schedules import Cron, Interval

    if interval is not None and interval <= 0:
        raise ValueError(f"--interval must be positive, got {interval}")
    out: list[Any] = []
    if cron or interval is None:
        out.append(Cron(cron or DEFAULT_CRON, timezone=timezone))
    if interval is not None:
        out.append(Interval(datetime.timedelta(seconds=interval), timezone=timezone))
    return out


def _deployment(params_path: str | Path, cron: str | None, interval: float | None,
                state_path: str | None, name: str, timezone: str) -> dict[str, Any]:
    """What the deployment runs: the retraining flow, in this folder, with these params."""
    from .retraining import DEFAULT_STATE

    workdir = Path.cwd().resolve()
    return {"name": name, "schedules": schedules(cron, interval, timezone),
            "parameters": {"params_path": str(Path(params_path).resolve()),
                           "workdir": str(workdir),
                           "state_path": str(workdir / (state_path or DEFAULT_STATE))},
            "tags": ["vreid"],
            "description": "Retrain when the data changed; promote only if better."}


def serve_retraining(params_path: str | Path = "params.yaml", cron: str | None = None,
                     interval: float | None = None, state_path: str | None = None,
                     name: str = DEPLOYMENT, timezone: str = "UTC",
                     limit: int | None = 1) -> None:
    """Register the scheduled retraining deployment and run its runs until interrupted.

    The deployment runs in the current folder (its `workdir` parameter) with the given
    params file; `limit` caps concurrent runs (one retraining at a time by default).
    """
    from prefect.types.entrypoint import EntrypointType

    from .retraining import retraining_flow

    deployment = _deployment(params_path, cron, interval, state_path, name, timezone)
    require_server()
    retraining_flow.serve(**deployment, limit=limit, entrypoint_type=EntrypointType.MODULE_PATH)


def deploy_retraining(pool: str, params_path: str | Path = "params.yaml",
                      cron: str | None = None, interval: float | None = None,
                      state_path: str | None = None, name: str = DEPLOYMENT,
                      timezone: str = "UTC") -> str:
    """Register the scheduled deployment in a work pool and return its id: a worker
    (`infra/prefect-worker.sh POOL`, on a host with vreid installed) runs its runs."""
    from prefect.types.entrypoint import EntrypointType

    from .retraining import retraining_flow

    settings = _deployment(params_path, cron, interval, state_path, name, timezone)
    require_server()
    deployment = retraining_flow.to_deployment(  # one run at a time
        **settings, entrypoint_type=EntrypointType.MODULE_PATH, concurrency_limit=1)
    return str(deployment.apply(work_pool_name=pool))
