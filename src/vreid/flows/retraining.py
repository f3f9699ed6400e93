"""Scheduled retraining: when the data changed, retrain, evaluate, promote only if better.

Each run fingerprints the configured datasets (content digests) and compares them with
the state file written by the last completed retraining; unchanged data ends the run
there. Otherwise the training flow runs as a sub-flow (stages whose inputs did not change
come from the cache), the new model is evaluated on the configured evaluation set, and
`vreid.tracking.registry.promote` registers it and moves the `champion` alias only when
it beats the champion by the configured margin. The state is written only after that, so
a failed run is retried on the same data next time.
"""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path
from typing import Any

from prefect import flow, task

from ..config import ConfigError, Params, load_params
from ..pipeline.common import atomic_write_json
from ..pipeline.fingerprint import dataset_digest
from ..pipeline.graph import dataset_keys
from ..tracking.env import disable_telemetry
from .tasks import RETRIES
from .training import flow_run_tags, training_flow

DEFAULT_STATE = "reports/retraining_state.json"


def watched_datasets(p: Params) -> list[str]:
    """The datasets a retraining follows: those the `stages:` table trains on and the video
    set the model is evaluated on, in `data:` order."""
    used = {stage.data for stage in p.stages.values()} | {"video"}
    return [key for key in dataset_keys(p) if key in used]


@task(name="fingerprint-data", **RETRIES)
def fingerprint_data(p: Params) -> dict[str, str]:
    """Content digest of every dataset the retraining follows."""
    return {name: dataset_digest(getattr(p.data, name)) for name in watched_datasets(p)}


def read_state(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.exists():
        return {}
    try:
        state = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: retraining state is not valid JSON ({exc}); "
                          "delete it to retrain on the current data") from None
    if not isinstance(state, dict) or not isinstance(state.get("data", {}), dict):
        raise ConfigError(f"{path}: retraining state must be a mapping with a `data` mapping")
    return state


def changed_datasets(previous: dict[str, str], current: dict[str, str]) -> list[str]:
    return [name for name, digest in current.items() if previous.get(name) != digest]


@flow(name="vreid-retraining", log_prints=True)
def retraining_flow(params_path: str = "params.yaml", state_path: str = DEFAULT_STATE,
                    workdir: str = "", force: bool = False) -> dict[str, Any]:
    """Retrain and promote-if-better when the data changed since the last retraining.

    `workdir`: the folder the run works in (a served deployment passes the folder it was
    started from); `force`: retrain even when the data did not change.
    """
    disable_telemetry()
    if workdir:
        os.chdir(workdir)
    p = load_params(params_path)
    previous = read_state(state_path)
    current = fingerprint_data(p)
    changed = changed_datasets(previous.get("data", {}), current)
    if not changed and not force:
        reason = f"no new or changed data since flow run {previous.get('flow_run_id')}"
        print(reason)
        return {"retrained": False, "reason": reason, "data": current}

    trained = training_flow(params_path, prepare=False, resume=False, promote=True, tune=False)
    decision = trained["promote"]
    summary = {
        "retrained": True,
        "changed": changed,
        "data": current,
        "flow_run_id": flow_run_tags()["prefect.flow_run_id"],
        "finished_at": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "metrics": trained["evaluate"].metrics,
        "promoted": decision.promoted,
        "version": str(decision.version),
        "reason": decision.reason,
    }
    atomic_write_json(state_path, summary)
    print(f"retrained on changed {summary['changed'] or 'data (forced)'}: "
          f"{'promoted' if decision.promoted else 'not promoted'} version "
          f"{decision.version} ({decision.reason})")
    return summary
