"""The MLflow model registry: compare runs, promote a challenger over the champion, roll back.

The only module that calls MLflow's registry API. Registry stages are deprecated in
MLflow 3, so the workflow is aliases and tags on the versions of
`params.promote.registered_name`:

- alias `champion`: the version in use; alias `previous-champion`: the one it replaced
  (what `rollback` restores);
- each version holds the vreid model file (and the ONNX export when given) as artifacts
  of its `promote` run under `vreid_model/`, so a champion can always be fetched and
  re-evaluated;
- every decision, promoted or not, is written as `vreid.*` tags on the challenger's
  version, in the call that creates it: the metric and margin, both models' metrics,
  the evaluation-data fingerprint, the git commit and the reason; `vreid.promoted` comes
  last, after the alias moves (a version without it was interrupted).

Crash safety: an alias names one version, and `set_registered_model_alias` moves it in
one call, so alias `champion` is never deleted, only moved. Promotion first points
`previous-champion` at the old champion (champion unchanged), then moves `champion`;
a crash at any point leaves exactly one champion (the old or the new one). Two
promotions running at once are not serialised: the later alias write wins.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from ..config import Params
from .env import disable_telemetry
from .mlflow_run import mlflow_run, tracking_uri

if TYPE_CHECKING:
    from rich.table import Table

CHAMPION = "champion"
PREVIOUS = "previous-champion"
ARTIFACT_DIR = "vreid_model"
MODEL_FILE = "model.pt"
ONNX_FILE = "model.onnx"
TAG = "vreid."


class RegistryError(ValueError):
    """The registry cannot do what was asked (no champion, unknown metric, ...)."""


@dataclass(frozen=True)
class PromotionDecision:
    promoted: bool
    reason: str
    metric: str
    challenger_metrics: dict[str, float]
    champion_metrics: dict[str, float] | None
    version: str  # the challenger's new model version
    champion_version: str | None  # the champion before the decision
    data_fingerprint: str
    git_commit: str
    run_id: str  # the `promote` run holding the challenger's files


@dataclass(frozen=True)
class RollbackResult:
    champion_version: str  # champion now
    demoted_version: str  # champion before the rollback
    previous_version: str | None  # `previous-champion` now


def _client(p: Params) -> Any:
    disable_telemetry()
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import mlflow

    uri = tracking_uri(p.tracking.tracking_uri)
    mlflow.set_tracking_uri(uri)
    return mlflow.MlflowClient(uri)


def git_commit(cwd: str | Path | None = None) -> str:
    """HEAD of the git repository around `cwd`, or "unknown" outside one."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True,
                             text=True, timeout=10, check=True)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def evaluation_fingerprint(p: Params, index: Any) -> str:
    """What promotion's numbers depend on besides the model: the query and gallery
    tracklets and the evaluation settings."""
    from ..pipeline.fingerprint import fingerprint, tracklets_fingerprint
    from ..pipeline.stages import model_stage_config

    inp = model_stage_config(p).input
    return fingerprint(tracklets_fingerprint(index.query, index.root),
                       tracklets_fingerprint(index.gallery, index.root),
                       p.eval, {"height": inp.height, "width": inp.width})


def decide(metric: str, margin: float, challenger: Mapping[str, float],
           champion: Mapping[str, float] | None,
           champion_version: str | None = None) -> tuple[bool, str]:
    """Promote only when challenger - champion > margin (higher is better)."""
    for name, metrics in (("challenger", challenger), ("champion", champion)):
        if metrics is not None and metric not in metrics:
            raise RegistryError(f"promote.metric {metric!r} is not among the {name}'s "
                                f"evaluation metrics {sorted(metrics)}")
    new = challenger[metric]
    if champion is None:
        return True, f"no champion yet; challenger {metric} {new:.4f}"
    old = champion[metric]
    gain = new - old
    verdict = "promoted" if gain > margin else "champion kept"
    sign = ">" if gain > margin else "<="
    return gain > margin, (f"{metric} {new:.4f} vs champion v{champion_version} {old:.4f}: "
                           f"{gain:+.4f} {sign} margin {margin}; {verdict}")


def _alias_version(client: Any, name: str, alias: str) -> str | None:
    from mlflow.exceptions import MlflowException

    try:
        return str(client.get_model_version_by_alias(name, alias).version)
    except MlflowException as exc:
        if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            return None
        raise


def _ensure_registered_model(client: Any, name: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        client.create_registered_model(
            name, description="vreid re-ID models; alias `champion` is the one in use.")
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_ALREADY_EXISTS":
            raise


def fetch_model(client: Any, name: str, version: str, dst: str | Path) -> Path:
    """Download the vreid model file of a registered version into `dst`."""
    import mlflow

    mv = client.get_model_version(name, version)
    if not mv.run_id:
        raise RegistryError(f"{name} v{version}: no run holds its files (source {mv.source})")
    try:
        path = mlflow.artifacts.download_artifacts(
            run_id=mv.run_id, artifact_path=f"{ARTIFACT_DIR}/{MODEL_FILE}", dst_path=str(dst))
    except Exception as exc:  # noqa: BLE001 - MLflow raises several kinds here
        raise RegistryError(f"{name} v{version}: cannot fetch {ARTIFACT_DIR}/{MODEL_FILE} "
                            f"from run {mv.run_id} ({exc})") from exc
    return Path(path)


def _move_champion(client: Any, name: str, new: str, old: str | None) -> None:
    """Two alias writes, each leaving exactly one champion (see the module docstring)."""
    if old is not None:
        client.set_registered_model_alias(name, PREVIOUS, old)  # champion is still `old`
    client.set_registered_model_alias(name, CHAMPION, new)  # one write moves it


def promote(p: Params, model_path: str | Path, *, key: str | None = None,
            tags: Mapping[str, Any] | None = None,
            onnx_path: str | Path | None = None) -> PromotionDecision:
    """Register `model_path` as a new version of `p.promote.registered_name`, evaluate it
    and the current champion on the same evaluation data, and move alias `champion` to it
    only when `p.promote.metric` improves by more than `p.promote.margin`.

    The decision and its evidence are tagged on the new version whatever it is; `tags`
    (e.g. a Prefect flow run id) go on the `promote` run and on the version.
    """
    from ..pipeline.common import read_configured, resolve_device, set_threads
    from ..pipeline.evaluate import score_model
    from ..pipeline.fingerprint import file_digest

    model_path = Path(model_path)
    if not model_path.is_file():
        raise FileNotFoundError(f"{model_path}: model file not found")
    if onnx_path is not None and not Path(onnx_path).is_file():
        raise FileNotFoundError(f"{onnx_path}: ONNX file not found")
    cfg, extra = p.promote, {k: str(v) for k, v in (tags or {}).items()}
    client = _client(p)
    import mlflow

    set_threads(p.runtime.threads)
    device = resolve_device(p.runtime.device)
    index = read_configured(p.data.video)  # one index: both models see the same data
    data_fp = evaluation_fingerprint(p, index)
    challenger, _, _ = score_model(p, model_path, index, device)
    decide(cfg.metric, cfg.margin, challenger, None)  # an unknown metric fails before registering
    champion_version = _alias_version(client, cfg.registered_name, CHAMPION)
    champion = None
    if champion_version is not None:
        with tempfile.TemporaryDirectory(prefix="vreid-champion-") as tmp:
            champion_file = fetch_model(client, cfg.registered_name, champion_version, tmp)
            champion, _, _ = score_model(p, champion_file, index, device)
    promoted, reason = decide(cfg.metric, cfg.margin, challenger, champion, champion_version)
    evidence = {
        "metric": cfg.metric, "margin": cfg.margin, "reason": reason,
        "data_fingerprint": data_fp, "git_commit": git_commit(),
        "model_digest": file_digest(model_path)[:16],
        "champion_version": champion_version or "none",
        **{f"challenger.{k}": f"{v:.6f}" for k, v in challenger.items()},
        **{f"champion.{k}": f"{v:.6f}" for k, v in (champion or {}).items()},
    }
    if promoted and champion_version is not None:
        evidence["replaced_version"] = champion_version  # where a rollback goes back to

    with mlflow_run(p.tracking.experiment, "promote", p.tracking.tracking_uri,
                    tags={"vreid.stage": "promote", "vreid.model_path": str(model_path),
                          **extra}, parent_key=key) as log:
        _log_as(mlflow, model_path, MODEL_FILE)
        if onnx_path is not None:
            _log_as(mlflow, Path(onnx_path), ONNX_FILE)
        log.log_params({"promote.registered_name": cfg.registered_name,
                        "promote.metric": cfg.metric, "promote.margin": cfg.margin})
        log.log_metrics(challenger)
        if champion is not None:
            log.log_metrics({f"champion_{k}": v for k, v in champion.items()})
        log.set_tags({TAG + k: evidence[k] for k in ("reason", "data_fingerprint", "git_commit")})
        # Registered with its evidence in one write; the alias moves come after.
        _ensure_registered_model(client, cfg.registered_name)
        source = f"{mlflow.active_run().info.artifact_uri}/{ARTIFACT_DIR}"
        version = str(client.create_model_version(
            cfg.registered_name, source=source, run_id=log.run_id,
            tags={**{TAG + k: str(v) for k, v in evidence.items()}, **extra}).version)
        if promoted:
            _move_champion(client, cfg.registered_name, version, champion_version)
        # Written last: a version without it was interrupted before its alias moves ended.
        client.set_model_version_tag(cfg.registered_name, version, TAG + "promoted",
                                     str(promoted).lower())
        log.set_tags({TAG + "promoted": str(promoted).lower(), TAG + "model_version": version})
    return PromotionDecision(promoted, reason, cfg.metric, challenger, champion, version,
                             champion_version, data_fp, evidence["git_commit"], log.run_id)


def _log_as(mlflow: Any, path: Path, name: str) -> None:
    """Log `path` as `vreid_model/<name>` whatever its own file name."""
    with tempfile.TemporaryDirectory(prefix="vreid-artifact-") as tmp:
        link = Path(tmp) / name
        try:
            os.link(path, link)
        except OSError:
            import shutil

            shutil.copyfile(path, link)
        mlflow.log_artifact(str(link), artifact_path=ARTIFACT_DIR)


def rollback(p: Params) -> RollbackResult:
    """Make `previous-champion` the champion again; `previous-champion` then points at
    the version that one had replaced (or is removed when none is recorded)."""
    client = _client(p)
    name = p.promote.registered_name
    current = _alias_version(client, name, CHAMPION)
    if current is None:
        raise RegistryError(f"registered model {name!r} has no `{CHAMPION}` to roll back")
    previous = _alias_version(client, name, PREVIOUS)
    if previous is None:
        raise RegistryError(f"registered model {name!r} has no `{PREVIOUS}` to restore "
                            f"(champion is v{current})")
    if previous != current:  # (equal: a crash left both on one version; just finish)
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        client.set_model_version_tag(name, current, TAG + "rolled_back", now)
        client.set_registered_model_alias(name, CHAMPION, previous)
    older = client.get_model_version(name, previous).tags.get(TAG + "replaced_version")
    if older and older != previous:
        client.set_registered_model_alias(name, PREVIOUS, older)
    else:
        client.delete_registered_model_alias(name, PREVIOUS)
        older = None
    return RollbackResult(previous, current, older)


# --- comparing runs -------------------------------------------------------------------

@dataclass(frozen=True)
class RunTable:
    """Runs side by side: the params whose values differ across them, and metrics."""

    columns: list[str]
    rows: list[list[str]]

    def to_markdown(self) -> str:
        def cell(text: str) -> str:
            return text.replace("|", "\\|")

        lines = ["| " + " | ".join(cell(c) for c in self.columns) + " |",
                 "|" + "|".join("---" for _ in self.columns) + "|"]
        lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in self.rows]
        return "\n".join(lines) + "\n"

    def to_rich(self, title: str | None = None) -> "Table":
        from rich.table import Table

        table = Table(title=title)
        for i, column in enumerate(self.columns):
            table.add_column(column, justify="left" if i < 3 else "right", overflow="fold")
        for row in self.rows:
            table.add_row(*row)
        return table


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def compare_runs(p: Params, run_ids: Sequence[str] = (), *, experiment: str | None = None,
                 stage: str | None = None, metrics: Sequence[str] | None = None,
                 max_runs: int = 50) -> RunTable:
    """A table of the given runs, or of the newest `max_runs` runs of `experiment`
    (default `p.tracking.experiment`; pipeline parent runs left out, `stage` keeps only
    runs of that stage). Params appear when their values differ across the runs;
    metrics (all, or the ones named) show their last value."""
    from mlflow.exceptions import MlflowException

    client = _client(p)
    if run_ids:
        try:
            runs = [client.get_run(r) for r in run_ids]
        except MlflowException as exc:
            raise RegistryError(f"cannot read run: {exc.message}") from exc
    else:
        name = experiment or p.tracking.experiment
        exp = client.get_experiment_by_name(name)
        if exp is None:
            raise RegistryError(f"no MLflow experiment named {name!r} at "
                                f"{tracking_uri(p.tracking.tracking_uri)}")
        filters = ["tags.`vreid.stage` != 'pipeline'"]
        if stage:
            filters.append(f"tags.`vreid.stage` = '{stage}'")
        runs = client.search_runs([exp.experiment_id], filter_string=" and ".join(filters),
                                  max_results=max_runs, order_by=["attributes.start_time DESC"])
    keys = sorted({k for r in runs for k in r.data.params})
    differing = [k for k in keys if len({r.data.params.get(k) for r in runs}) > 1]
    names = list(metrics) if metrics else sorted({k for r in runs for k in r.data.metrics})
    columns = ["run", "name", "stage", *differing, *names]
    rows = [[r.info.run_id[:8], r.info.run_name or "", r.data.tags.get("vreid.stage", ""),
             *(r.data.params.get(k, "") for k in differing),
             *(_fmt(r.data.metrics.get(k)) for k in names)] for r in runs]
    return RunTable(columns, rows)
