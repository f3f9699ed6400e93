"""Stage functions run inside MLflow runs: the one tracked entry point per stage.

Every front door (the CLI that dvc.yaml calls, the Prefect flows, the Ray Tune trials)
calls these, so a stage logs the same params, metrics, artifacts and model whichever
door started it. They take typed `Params` (a tuning trial passes an overridden copy)
and the key of the MLflow pipeline run the stage nests under; `tags` adds run tags
(a Prefect flow run id and URL, a Tune trial id).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from ..config import Params, to_flat_dict
from .mlflow_run import MlflowLogger, mlflow_run

if TYPE_CHECKING:  # the engine (torch) loads only when a stage runs
    from ..engine.hooks import Hook

def pipeline_key(params_path: str | Path) -> str:
    """Stage runs of one configuration nest under one MLflow pipeline run."""
    from ..pipeline.fingerprint import file_digest

    return file_digest(params_path)[:16]


def _stage_run(p: Params, stage: str, key: str | None, tags: Mapping[str, Any] | None):
    return mlflow_run(p.tracking.experiment, stage, p.tracking.tracking_uri,
                      tags={"vreid.stage": stage, **(tags or {})}, parent_key=key)


def log_model(log: MlflowLogger, p: Params, model_path: Path,
              example_shape: tuple[int, ...]) -> None:
    """The model file as an artifact and, unless switched off, as an MLflow model."""
    log.log_artifact(model_path)
    if p.tracking.log_model:
        import torch

        from ..pipeline.common import load_model

        model, _ = load_model(model_path)
        log.log_torch_model(model.eval(), torch.zeros(example_shape).numpy())


def run_train_stage(p: Params, stage_name: str, key: str | None = None,
                    hooks: Sequence["Hook"] = (), resume: bool = True,
                    tags: Mapping[str, Any] | None = None,
                    models_dir: str | Path = "models", checkpoints_dir: str | Path = "checkpoints",
                    reports_dir: str | Path = "reports"):
    """One training stage of the `stages:` table (a parser or a re-ID stage), in its run;
    its timing goes to `reports_dir/timing/<stage>.json` and the run's `timing/*` metrics."""
    from ..pipeline.stages import example_input_shape, resolve_stage, train_stage

    stage = resolve_stage(p, stage_name, models_dir, checkpoints_dir)
    with _stage_run(p, stage_name, key, tags) as log:
        log.log_params({**to_flat_dict(stage.config), **to_flat_dict(stage.dataset, "data.")})
        out = train_stage(p, stage_name, log, hooks, resume, models_dir, checkpoints_dir,
                          reports_dir)
        log_model(log, p, out.model_path, example_input_shape(stage.config))
    return out


def _model(p: Params, model_path: str | Path | None) -> Path:
    """The given model file, else the table's model stage's."""
    from ..pipeline.stages import model_stage_file

    return Path(model_path) if model_path else model_stage_file(p)


def run_evaluate(p: Params, model_path: str | Path | None = None,
                 reports_dir: str | Path = "reports", key: str | None = None,
                 tags: Mapping[str, Any] | None = None):
    from ..pipeline.evaluate import evaluate

    model_path = _model(p, model_path)
    with _stage_run(p, "evaluate", key, {"vreid.model_path": str(model_path), **(tags or {})}) \
            as log:
        log.log_params(to_flat_dict(p.eval, "eval."))
        return evaluate(p, model_path, reports_dir, log)


def run_leaderboard(p: Params, entries: Sequence[str] | None = None,
                    seeds: Sequence[int] | None = None, address: str | None = None,
                    key: str | None = None, tags: Mapping[str, Any] | None = None,
                    reports_dir: str | Path = "reports", reference: str | None = None,
                    report_only: bool = False):
    """The leaderboard in one parent run (nested under the pipeline run of `key`): one
    child run per (entry, seed), tagged with both; the report files on the parent.
    `reference`: the entry compared to (default: leaderboard.reference); `report_only`:
    no training, the stored results as they are (`leaderboard`)."""
    from ..pipeline.leaderboard import leaderboard, load_entries, reference_entry

    patterns = list(entries) if entries else list(p.leaderboard.entries)
    loaded = load_entries(p, patterns)  # a bad entry fails before any run is created
    reference = reference_entry(p, loaded, reference)  # as does a bad reference
    return _board_runs(p, "leaderboard", key, tags, lambda run_context: leaderboard(
        p, loaded, seeds, address, reports_dir, reference=reference,
        run_context=run_context, report_only=report_only))


def run_ablation(p: Params, variants: Sequence[str] | None = None, key: str | None = None,
                 tags: Mapping[str, Any] | None = None, reports_dir: str | Path = "reports"):
    """The EgoReID ablation entries, one seed (vreid.pipeline.ablation), tracked as the
    leaderboard is."""
    from ..pipeline.ablation import run_ablation as ablation

    return _board_runs(p, "ablation", key, tags, lambda run_context: ablation(
        p, variants, reports_dir=reports_dir, run_context=run_context))


def _board_runs(p: Params, stage: str, key: str | None, tags: Mapping[str, Any] | None, run):
    """A parent run for this call (a fresh key: each call is one run) whose children are the
    (entry, seed) runs `run(run_context)` opens; its report files become parent artifacts."""
    import uuid

    from .mlflow_run import parent_run, tracking_uri

    board_key = f"{stage}-{uuid.uuid4().hex[:12]}"
    uri = tracking_uri(p.tracking.tracking_uri)
    parent_id = parent_run(p.tracking.experiment, board_key, p.tracking.tracking_uri,
                           run_name=stage, tags={"vreid.stage": stage, **(tags or {})},
                           parent_key=key)

    def run_context(entry: str, seed: int, reused: bool):
        return _stage_run(p, f"{stage}: {entry} seed {seed}", board_key,
                          {"vreid.stage": stage, "vreid.entry": entry, "vreid.seed": seed,
                           "vreid.reused": reused, **(tags or {})})

    out = run(run_context)
    import mlflow  # loaded (telemetry off) by parent_run

    client = mlflow.MlflowClient(uri)
    for path in (out.md_path, out.png_path, out.json_path):
        client.log_artifact(parent_id, str(path))
    client.log_metric(parent_id, "entries", len(out.report["entries"]))
    client.set_tag(parent_id, "vreid.reference", out.report["reference"])
    return out


def run_evaluate_metadata(p: Params, model_path: str | Path | None = None,
                          reports_dir: str | Path = "reports", key: str | None = None,
                          tags: Mapping[str, Any] | None = None):
    """Rank-k / mAP on the EgoReID set without and with sensor-metadata pruning."""
    from ..pipeline.evaluate_metadata import evaluate_metadata

    model_path = _model(p, model_path)
    with _stage_run(p, "evaluate_metadata", key,
                    {"vreid.model_path": str(model_path), **(tags or {})}) as log:
        log.log_params({**to_flat_dict(p.metadata, "metadata."),
                        **to_flat_dict(p.data.egoreid, "data."),
                        "eval.metric": p.eval.metric})
        return evaluate_metadata(p, model_path, reports_dir, log)


def run_export(p: Params, model_path: str | Path | None = None,
               out_dir: str | Path = "models/export", reports_dir: str | Path = "reports",
               key: str | None = None, tags: Mapping[str, Any] | None = None):
    """ONNX export (+ TensorRT engine where possible); the ONNX file is logged as an artifact."""
    from ..pipeline.export import export

    model_path = _model(p, model_path)
    with _stage_run(p, "export", key, {"vreid.model_path": str(model_path), **(tags or {})}) \
            as log:
        log.log_params(to_flat_dict(p.export, "export."))
        out = export(p.export, model_path, out_dir, reports_dir, p.runtime, log)
        log.set_tags({"vreid.tensorrt": out.report["tensorrt"]})
        log.log_artifact(out.onnx_path)
    return out


def run_benchmark(p: Params, model_path: str | Path | None = None,
                  onnx_path: str | Path = "models/export/model.onnx",
                  reports_dir: str | Path = "reports", key: str | None = None,
                  tags: Mapping[str, Any] | None = None):
    """Inference benchmark; each backend's status (ok / unavailable / failed) is a run tag."""
    from ..pipeline.benchmark import benchmark

    model_path = _model(p, model_path)
    with _stage_run(p, "benchmark", key, {"vreid.model_path": str(model_path), **(tags or {})}) \
            as log:
        log.log_params(to_flat_dict(p.benchmark, "benchmark."))
        out = benchmark(p.benchmark, model_path, onnx_path, reports_dir, p.runtime, log)
        log.set_tags({f"vreid.backend.{name}": status for name, status in out.result.status.items()})
    return out
