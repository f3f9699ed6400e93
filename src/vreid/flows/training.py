"""The training flow: the DVC chain (prepare .. evaluate, export, benchmark) as Prefect tasks.

    python -m vreid.flows.training --params params.yaml

Runs in the current folder with the layout dvc.yaml uses (data/, models/, reports/).
A re-run with unchanged inputs restores every finished stage from the cache; an edited
params section, data file or upstream model runs that stage (and what depends on it) again.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from prefect import flow

from ..config import Params, load_params
from ..pipeline.stages import model_stage_file
from ..tracking.env import disable_telemetry
from ..tracking.stages import pipeline_key
from .caching import stage_outputs
from .tasks import (benchmark_task, evaluate_metadata_task, evaluate_task, export_task,
                    prepare_task, promote_task, train_task, tune_task, validate_task)


def flow_run_tags() -> dict[str, str]:
    """The current flow run's id (and UI address, when a server serves one) for MLflow;
    in a sub-flow (training inside retraining) also the id of the run that started it."""
    from prefect.runtime import flow_run
    from prefect.settings import PREFECT_API_URL

    tags = {"prefect.flow_run_id": str(flow_run.id), "prefect.flow_run_name": str(flow_run.name),
            "prefect.root_flow_run_id": str(flow_run.root_flow_run_id)}
    if PREFECT_API_URL.value():  # an ephemeral API has no UI to link to
        tags["prefect.flow_run_url"] = str(flow_run.ui_url)
    return tags


def run_stage(stage_task: Any, stage: str, p: Params, *args: Any, **kwargs: Any) -> Any:
    """Call a stage task; a cached result is reused only while the stage's outputs exist."""
    if any(not out.exists() for out in stage_outputs(stage, p)):
        stage_task = stage_task.with_options(refresh_cache=True)
    return stage_task(p, *args, **kwargs)


@flow(name="vreid-training")
def training_flow(params_path: str = "params.yaml", prepare: bool = True,
                  resume: bool = True, promote: bool = False, tune: bool = True) -> dict[str, Any]:
    """prepare -> validate -> the `stages:` table in its order -> evaluate ->
    evaluate_metadata -> export -> benchmark -> tune [-> promote] (the stages of dvc.yaml,
    both from `vreid.pipeline.graph.stage_graph`); `prepare=False` trains on the data
    already configured; `tune=False` skips the Ray Tune search; `promote=True` registers
    the model and makes it the champion if better."""
    disable_telemetry()
    p = load_params(params_path)
    key, tags = pipeline_key(params_path), flow_run_tags()
    out: dict[str, Any] = {}
    if prepare:
        out["prepare"] = run_stage(prepare_task, "prepare", p)
    out["validate"] = run_stage(validate_task, "validate", p)
    for stage in p.stages:
        out[stage] = run_stage(train_task, stage, p, stage, key, tags, resume)
    out["evaluate"] = run_stage(evaluate_task, "evaluate", p, key, tags)
    _publish_metrics(out["evaluate"].metrics)
    out["evaluate_metadata"] = run_stage(evaluate_metadata_task, "evaluate_metadata", p, key,
                                         tags)
    out["export"] = run_stage(export_task, "export", p, key, tags)
    onnx = str(out["export"].onnx_path)
    out["benchmark"] = run_stage(benchmark_task, "benchmark", p, onnx, key, tags)
    if tune:
        out["tune"] = run_stage(tune_task, "tune", p, str(params_path), tags)
    if promote:  # never cached: the champion it is compared with changes between runs
        out["promote"] = promote_task(p, str(model_stage_file(p)), key, tags, onnx)
    return out


def _publish_metrics(metrics: dict[str, float]) -> None:
    """The evaluation metrics as a table in the Prefect UI (flow run -> Artifacts)."""
    from prefect.artifacts import create_table_artifact

    create_table_artifact(key="vreid-metrics", description="vreid evaluate: CMC / mAP / mINP",
                          table=[{"metric": k, "value": round(float(v), 4)}
                                 for k, v in metrics.items()])


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - thin CLI
    parser = argparse.ArgumentParser(description=training_flow.__doc__)
    parser.add_argument("--params", default="params.yaml", type=Path)
    parser.add_argument("--no-prepare", action="store_true")
    parser.add_argument("--no-resume", action="store_true")
    parser.add_argument("--no-tune", action="store_true", help="skip the Ray Tune search")
    parser.add_argument("--promote", action="store_true",
                        help="register the model; champion only if it beats the champion")
    args = parser.parse_args(argv)
    training_flow(str(args.params), prepare=not args.no_prepare, resume=not args.no_resume,
                  promote=args.promote, tune=not args.no_tune)


if __name__ == "__main__":  # pragma: no cover
    main()
