"""Drive a Ray Tune search over a training stage; write the best config.

Local Ray by default (one CPU and `threads_per_trial` torch threads per trial), an
existing cluster when an address is given. The search lives in `tune.storage/<name>`,
where `name` fingerprints the search space, the stage settings, the data and the
upstream model files: the same configuration resumes (finished trials are not rerun),
a changed one starts a new search. MLflow: one search run, each trial a child run.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from ..config import Params
from ..pipeline.common import atomic_write_text
from ..pipeline.fingerprint import fingerprint
from ..tracking.env import disable_telemetry
from ..tracking.mlflow_run import parent_run, tracking_uri
from .cluster import _cluster_env, init_ray
from .space import ray_space, trial_params, validate_space
from .trial import run_trial

# Settings that change where or how fast a search runs, not what it finds.
_RUN_ONLY = ("address", "storage", "best_params", "max_concurrent", "cpus_per_trial")


class SearchInterrupted(RuntimeError):
    """The search stopped before every trial ended (Ctrl+C, SIGINT); its state is saved."""


class _InterruptSeen(logging.Handler):
    """Tune returns normally from an interrupted `fit` (trials it stopped look terminated);
    the one sign is its "Experiment has been interrupted" warning."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen = False

    def emit(self, record: logging.LogRecord) -> None:
        if "has been interrupted" in record.getMessage():
            self.seen = True


@dataclass
class TrialRow:
    trial_id: str
    status: str
    config: dict[str, Any]
    metrics: dict[str, Any]


@dataclass
class SearchOutput:
    name: str
    best_params_path: Path
    best_config: dict[str, Any]
    best_value: float
    metric: str
    restored: bool
    search_run_id: str
    trials: list[TrialRow] = field(default_factory=list)


def search_name(p: Params) -> str:
    """`<stage>-<fingerprint>` of everything that changes what the search finds."""
    from ..pipeline.stages import resolve_stage, tuned_stage
    from ..pipeline.train import run_fingerprint

    t, name = p.tune, tuned_stage(p)
    stage = resolve_stage(trial_params(p, {}), name)
    stage_fp = run_fingerprint(stage.config, stage.dataset)
    tune_fp = fingerprint({k: v for k, v in dataclasses.asdict(t).items() if k not in _RUN_ONLY})
    return f"{name}-{fingerprint(stage_fp, tune_fp)[:12]}"


def _absolute_uri(uri: str) -> str:
    """Trials run in other processes (other hosts): a relative sqlite path becomes absolute."""
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not uri.startswith(prefix + "/"):
        return prefix + str(Path(uri[len(prefix):]).resolve())
    return uri


def run_search(p: Params, params_path: str | Path | None = None, address: str | None = None,
               resume: bool = True, root: str | Path = ".",
               tags: Mapping[str, Any] | None = None) -> SearchOutput:
    """Run (or resume) the search described by `p.tune`; write `p.tune.best_params`.
    `tags` go on the search's MLflow run (a Prefect flow run id, say)."""
    disable_telemetry()
    where = str(params_path or "params")
    validate_space(p, where)
    t = p.tune
    address = address if address is not None else (t.address or os.environ.get("RAY_ADDRESS", ""))
    if address:
        _cluster_env(address)
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler
    from ray.tune.search.basic_variant import BasicVariantGenerator

    from ..tracking.stages import pipeline_key

    root = Path(root).resolve()
    uri = _absolute_uri(tracking_uri(p.tracking.tracking_uri))
    base = dataclasses.replace(p, tracking=dataclasses.replace(p.tracking, tracking_uri=uri))
    name = search_name(p)
    storage = (root / t.storage).resolve()
    experiment_dir = storage / name
    key = f"tune-{name}"
    search_run_id = parent_run(
        p.tracking.experiment, key, uri, run_name=f"tune {name}",
        tags={"vreid.stage": "tune", "vreid.tune.search": name, **(tags or {})},
        parent_key=pipeline_key(params_path) if params_path else None)
    metric = f"val_{t.metric}"
    started = init_ray(address, uri)
    try:
        trainable = tune.with_resources(
            tune.with_parameters(run_trial, base=base, root=str(root), key=key, search=name,
                                 trials_dir=str(experiment_dir / "trials")),
            {"cpu": t.cpus_per_trial})
        restored = resume and tune.Tuner.can_restore(str(experiment_dir))
        if not resume and experiment_dir.exists():  # --no-resume: this search afresh
            shutil.rmtree(experiment_dir)
        if restored:
            tuner = tune.Tuner.restore(str(experiment_dir), trainable, resume_unfinished=True,
                                       resume_errored=True)
        else:
            scheduler = ASHAScheduler(time_attr="epoch", max_t=t.epochs,
                                      grace_period=min(t.grace_period, t.epochs),
                                      reduction_factor=t.reduction_factor)
            tuner = tune.Tuner(
                trainable, param_space=ray_space(t),
                tune_config=tune.TuneConfig(
                    metric=metric, mode="max", scheduler=scheduler,
                    search_alg=_searcher(t, BasicVariantGenerator), num_samples=t.num_samples),
                run_config=tune.RunConfig(name=name, storage_path=str(storage), verbose=1))
        tune_logger = logging.getLogger("ray.tune.tune")
        interrupted = _InterruptSeen()
        tune_logger.addHandler(interrupted)
        try:
            results = tuner.fit()
        finally:
            tune_logger.removeHandler(interrupted)
    finally:
        if started:
            import ray

            ray.shutdown()
    if interrupted.seen:
        raise SearchInterrupted(f"tune search {name} was interrupted; run it again to resume "
                                f"(finished trials are kept; state in {experiment_dir})")
    trials = [TrialRow(r.metrics.get("trial_id", Path(r.path).name) if r.metrics else
                       Path(r.path).name, "ERROR" if r.error else "OK", dict(r.config or {}),
                       dict(r.metrics or {})) for r in results]
    scored = [row for row in trials if metric in row.metrics]
    if not scored:
        raise RuntimeError(f"tune search {name}: no trial reported {metric} "
                           f"({len(results.errors)} errored; logs under {experiment_dir})")
    best = max(scored, key=lambda row: row.metrics[metric])
    out_path = root / t.best_params
    from ..pipeline.stages import tuned_stage

    atomic_write_text(out_path, best_params_yaml(name, tuned_stage(p), metric, best,
                                                 len(trials)))
    _log_search(p, uri, search_run_id, name, metric, best, out_path)
    return SearchOutput(name, out_path, best.config, float(best.metrics[metric]), metric,
                        restored, search_run_id, trials)


def _searcher(t, basic_variant):
    if t.searcher == "random":
        return basic_variant(random_state=t.seed, max_concurrent=t.max_concurrent)
    if t.searcher == "optuna":
        try:
            from ray.tune.search.optuna import OptunaSearch

            return OptunaSearch(seed=t.seed)
        except (ImportError, AssertionError) as exc:
            raise RuntimeError(f"tune.searcher optuna needs the optuna package ({exc})") from None
    raise ValueError(f"tune.searcher {t.searcher!r} unknown; known: random, optuna")


def best_params_yaml(name: str, stage: str, metric: str, best: TrialRow, num_trials: int) -> str:
    """The winning trial's values, by path into the stage, with its validation score."""
    doc = {
        "search": name,
        "stage": stage,
        "metric": metric,
        "value": float(best.metrics[metric]),
        "trial_id": best.trial_id,
        "num_trials": num_trials,
        "params": {path: _plain(v) for path, v in best.config.items()},
    }
    return ("# Written by `vreid tune`: best trial of the search, scored on a validation split\n"
            "# held out of the training identities. `params` paths address params.yaml's\n"
            f"# `stages.{stage}` entry (copy the values there to use them).\n"
            + yaml.safe_dump(doc, sort_keys=False))


def _plain(value: Any) -> Any:
    """numpy scalars (Tune's samplers) as plain Python numbers for YAML."""
    return value.item() if hasattr(value, "item") else value


def _log_search(p: Params, uri: str, run_id: str, name: str, metric: str, best: TrialRow,
                best_path: Path) -> None:
    import mlflow

    client = mlflow.MlflowClient(uri)
    client.set_tag(run_id, "vreid.tune.best_trial_id", best.trial_id)
    client.log_metric(run_id, f"best_{metric}", float(best.metrics[metric]))
    for path, value in best.config.items():
        client.set_tag(run_id, f"vreid.tune.best.{path}", str(_plain(value)))
    client.log_artifact(run_id, str(best_path))
