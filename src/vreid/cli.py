"""`vreid`: one sub-command per pipeline stage (dvc.yaml calls these)."""

from __future__ import annotations

import dataclasses
import sys
import traceback
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from .config import ConfigError, Params, load_params
from .data.index import DatasetFormatError
from .tracking.env import disable_telemetry

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Video-based person re-identification pipeline.")
console = Console()

ParamsOption = typer.Option(Path("params.yaml"), "--params", "-p", help="Hyper-parameter file.")
ResumeOption = typer.Option(True, help="Resume from the last matching checkpoint.")
_options = {"debug": False}  # set on every invocation by the callback below


@app.callback()
def options(debug: bool = typer.Option(False, "--debug", envvar="VREID_DEBUG",
                                       help="Print the full traceback behind a one-line error.")
            ) -> None:
    _options["debug"] = debug


def _params(path: Path) -> Params:
    disable_telemetry()
    try:
        return load_params(path)
    except ConfigError as exc:
        _fail(str(exc))


def _fail(message: str) -> None:
    if _options["debug"] and sys.exc_info()[1] is not None:
        typer.echo(traceback.format_exc(), err=True, nl=False)  # the error being handled
    console.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code=1)


def _run_stage(fn, *args, **kwargs):
    """Turn the errors a user can fix into one readable line and a non-zero exit."""
    from .pipeline.validate import ValidationFailed

    try:
        return fn(*args, **kwargs)
    except (ConfigError, DatasetFormatError, ValidationFailed, FileNotFoundError,
            ValueError) as exc:
        _fail(str(exc))


@app.command()
def prepare(params: Path = ParamsOption) -> None:
    """Write the embedded synthetic MARS / Market-1501 / LIP / EgoReID sets."""
    from .pipeline.prepare import prepare as stage

    p = _params(params)
    out = _run_stage(stage, p)
    for name, counts in out.counts.items():
        console.print(f"[green]{name}[/] -> {escape(str(out.root / name))}: {counts}")


@app.command()
def validate(params: Path = ParamsOption, reports: Path = Path("reports")) -> None:
    """Great Expectations checks over every configured dataset; non-zero exit on failure."""
    from .pipeline.validate import validate as stage

    out = _run_stage(stage, _params(params), reports)
    console.print(f"[green]data valid[/]; report in {escape(str(out.report_md))}")


@app.command("train-stage")
def train_stage(name: str = typer.Argument(..., help="A stage of params.yaml's `stages:` table."),
                params: Path = ParamsOption, resume: bool = ResumeOption) -> None:
    """Train one stage of the `stages:` table (models/NAME/model.pt); a parsing stage also
    reports pixel accuracy / mIoU on its val split."""
    from .pipeline.stages import resolve_stage
    from .progress import RichProgressHook
    from .tracking.stages import pipeline_key, run_train_stage

    p = _params(params)
    stage = _run_stage(resolve_stage, p, name)
    out = _run_stage(run_train_stage, p, name, pipeline_key(params),
                     hooks=[RichProgressHook(_epochs(stage.config))], resume=resume)
    line = f"[green]{name}[/] -> {out.model_path} ({out.epochs_run} epochs run, started at " \
           f"epoch {out.resumed_from_epoch})"
    if hasattr(out, "mean_iou"):
        line += f": pixel acc {out.pixel_acc:.1%}, mIoU {out.mean_iou:.1%} on {out.metrics_path}"
    t = out.timing
    line += (f"; {t['wall_s']:.1f} s, {t['clips_per_s']:.1f} clips/s, "
             f"{t['frames_per_s']:.1f} frames/s")
    console.print(line, markup=False)


def _model_of(p: Params, model: Path | None) -> Path:
    """The model file given on the command line, else the model stage's."""
    from .pipeline.stages import model_stage_file

    return model or _run_stage(model_stage_file, p)


def _epochs(config) -> int:
    return config.epochs if hasattr(config, "epochs") else config.train.epochs


def _register_alias(stage_name: str) -> None:
    """`vreid pretrain-image` = `vreid train-stage pretrain_image` (EgoReID's chain)."""
    def command_fn(params: Path = ParamsOption, resume: bool = ResumeOption) -> None:
        train_stage(stage_name, params, resume)

    command_fn.__doc__ = f"Alias of `vreid train-stage {stage_name}`."
    app.command(stage_name.replace("_", "-"), hidden=True)(command_fn)


for _stage in ("pretrain_parsing", "pretrain_image", "finetune_image", "train_video"):
    _register_alias(_stage)


@app.command("dvc-yaml")
def dvc_yaml(params: Path = ParamsOption,
             output: Path = typer.Option(None, help="File to write (default: dvc.yaml, with "
                                         "--leaderboard leaderboard/dvc.yaml)."),
             check: bool = typer.Option(False, help="Only check that OUTPUT is up to date."),
             leaderboard: bool = typer.Option(False, "--leaderboard", help="The leaderboard's "
                                              "own dvc.yaml (not run by a root `dvc repro`).")
             ) -> None:
    """Write dvc.yaml from params.yaml's `stages:` table (run it after editing the table);
    with --leaderboard, leaderboard/dvc.yaml from its `leaderboard:` section and entries."""
    from .pipeline.common import atomic_write_text
    from .pipeline.graph import LEADERBOARD_DVC_YAML, dvc_yaml as generate, leaderboard_dvc_yaml

    output = output or Path(LEADERBOARD_DVC_YAML if leaderboard else "dvc.yaml")
    text = _run_stage(leaderboard_dvc_yaml if leaderboard else generate, _params(params))
    if check:
        flag = " --leaderboard" if leaderboard else ""
        if not output.is_file() or output.read_text() != text:
            _fail(f"{output} is out of date with {params}: run `vreid dvc-yaml{flag}`")
        console.print(f"{output} is up to date", markup=False)
        return
    atomic_write_text(output, text)
    console.print(f"[green]{escape(str(output))}[/] written from {escape(str(params))}")


@app.command()
def evaluate(
    params: Path = ParamsOption,
    model: Path = typer.Option(None, help="Model to evaluate (default: the model stage's)."),
    reports: Path = Path("reports"),
) -> None:
    """CMC / mAP / mINP on the configured video set's query and gallery."""
    from .tracking.stages import pipeline_key, run_evaluate

    p = _params(params)
    out = _run_stage(run_evaluate, p, model, reports, pipeline_key(params))
    m, t = out.metrics, out.timing
    console.print(f"frames scored: {out.protocol['frames']} ({out.protocol['scored']}); "
                  f"{t['wall_s']:.1f} s, feature extraction {t['tracklets_per_s']:.1f} "
                  f"tracklets/s, {t['frames_per_s']:.1f} frames/s")
    line = f"rank-1 {m['rank1']:.1%}  mAP {m['mAP']:.1%}"
    if "rr_rank1" in m:
        line += f"   re-ranked: rank-1 {m['rr_rank1']:.1%}  mAP {m['rr_mAP']:.1%}"
    if "untrained_rank1" in m:
        line += f"   (untrained: rank-1 {m['untrained_rank1']:.1%}  mAP {m['untrained_mAP']:.1%})"
    console.print(line, style="bold green", markup=False)


@app.command()
def ablate(
    params: Path = ParamsOption,
    variant: list[str] = typer.Option(None, help="Variants to run (default: all of them)."),
) -> None:
    """EgoReID ablations (paper 000 tables 2-4): the leaderboard's egoreid_* entries with
    one seed, one MLflow run per variant, reports/egoreid_ablation.md. Needs the chain's
    parsing and image models."""
    from .tracking.stages import pipeline_key, run_ablation

    p = _params(params)
    out = _run_stage(run_ablation, p, variant or None, pipeline_key(params))
    console.print(out.md_path.read_text(), markup=False)


@app.command()
def leaderboard(
    params: Path = ParamsOption,
    entries: list[str] = typer.Option(None, "--entries", help="Entry files or globs "
                                      "(default: leaderboard.entries)."),
    seeds: list[int] = typer.Option(None, "--seeds", help="Seeds (default: leaderboard.seeds)."),
    address: str = typer.Option(None, "--address", help="Ray cluster to run the (entry, seed) "
                                "jobs on (default: leaderboard.address; empty: sequential)."),
    reference: str = typer.Option(None, "--reference", help="The entry the others are "
                                  "compared to (default: leaderboard.reference; empty: the "
                                  "first entry)."),
    report_only: bool = typer.Option(False, "--report-only", help="Train nothing: report the "
                                     "stored results, listing those whose fingerprint changed "
                                     "as stale; fails if a run has no result."),
    reports: Path = typer.Option(Path("reports"), "--reports", help="Folder of the report "
                                 "files (another board's, e.g. configs/transfer/params.yaml's, "
                                 "apart from the default one's)."),
) -> None:
    """Train every leaderboard entry for each seed (finished runs with an unchanged
    fingerprint are reused), score them on leaderboard.data, and write
    reports/leaderboard.{md,json,png}: means with 95% bootstrap intervals over queries and
    seeds, paired differences to the reference entry, and the papers' claims tested."""
    from .tracking.stages import pipeline_key, run_leaderboard

    p = _params(params)
    out = _run_stage(run_leaderboard, p, entries or None, seeds or None, address,
                     pipeline_key(params), reports_dir=reports, reference=reference,
                     report_only=report_only)
    typer.echo(out.md_path.read_text())
    console.print(f"[green]{len(out.trained)} run(s) trained, {len(out.reused)} reused[/] -> "
                  f"{escape(f'{out.md_path}, {out.json_path}, {out.png_path}')}")


def _registry_call(fn, *args, **kwargs):
    """Registry errors (and MLflow's) as one readable line."""
    from mlflow.exceptions import MlflowException

    try:
        return _run_stage(fn, *args, **kwargs)
    except MlflowException as exc:
        _fail(exc.message)


@app.command()
def compare(
    run_ids: list[str] = typer.Argument(None, help="Run ids (default: the experiment's runs)."),
    params: Path = ParamsOption,
    experiment: str = typer.Option(None, help="Experiment (default: tracking.experiment)."),
    stage: str = typer.Option(None, help="Only runs of this stage (e.g. evaluate, promote)."),
    metric: list[str] = typer.Option(None, "--metric", "-m",
                                     help="Metrics to show (default: all)."),
    max_runs: int = typer.Option(20, help="Newest runs of the experiment to show."),
    output: Path = typer.Option(None, help="Also write the table as markdown here."),
) -> None:
    """MLflow runs side by side: the params that differ across them, and their metrics."""
    from .pipeline.common import atomic_write_text
    from .tracking.registry import compare_runs

    table = _registry_call(compare_runs, _params(params), run_ids or (), experiment=experiment,
                           stage=stage, metrics=metric or None, max_runs=max_runs)
    console.print(table.to_rich())
    if output:
        atomic_write_text(output, table.to_markdown())
        console.print(f"markdown -> {output}", markup=False)


@app.command()
def promote(
    params: Path = ParamsOption,
    model: Path = typer.Option(None, help="The challenger (default: the model stage's model)."),
    onnx: Path = typer.Option(None, help="Its ONNX export, logged with it (default: "
                              "models/export/model.onnx when it is newer than the model)."),
) -> None:
    """Register the model; make it the `champion` only if it beats the current one on the
    same evaluation data by promote.margin in promote.metric. The decision is tagged."""
    from .tracking.registry import promote as stage
    from .tracking.stages import pipeline_key

    p = _params(params)
    model = _model_of(p, model)
    default_onnx = Path("models/export/model.onnx")
    if (onnx is None and default_onnx.is_file() and model.is_file()
            and default_onnx.stat().st_mtime >= model.stat().st_mtime):
        onnx = default_onnx  # newer than the model: not left over from an earlier one
    d = _registry_call(stage, p, model, key=pipeline_key(params), onnx_path=onnx)
    colour = "bold green" if d.promoted else "yellow"
    verdict = "champion" if d.promoted else "not promoted"
    console.print(f"[{colour}]{p.promote.registered_name} v{d.version}: {escape(verdict)}[/] - {escape(str(d.reason))}")
    if onnx:
        console.print(f"logged with {onnx}", markup=False)


@app.command()
def rollback(params: Path = ParamsOption) -> None:
    """Make `previous-champion` the `champion` again."""
    from .tracking.registry import rollback as stage

    p = _params(params)
    r = _registry_call(stage, p)
    console.print(f"[bold green]{p.promote.registered_name}: champion v{r.demoted_version} -> "
                  f"v{r.champion_version}[/] (previous-champion: "
                  f"{'v' + r.previous_version if r.previous_version else 'none'})")


@app.command()
def schedule(
    params: Path = ParamsOption,
    cron: str = typer.Option(None, help='Cron schedule (default "0 3 * * 0" when no --interval).'),
    interval: float = typer.Option(None, help="Also (or only) run every this many seconds."),
    timezone: str = typer.Option("UTC", help="Time zone of the cron schedule."),
    state: Path = typer.Option(None, help="Retraining state file (reports/retraining_state.json)."),
    pool: str = typer.Option(None, help="Register the deployment in this work pool and exit "
                             "(a worker runs it: infra/prefect-worker.sh) instead of serving."),
) -> None:
    """Serve (or with --pool, deploy) the retraining flow as a scheduled Prefect deployment;
    needs a Prefect server (PREFECT_API_URL; see infra/). Each run retrains when the data
    changed and promotes the new model only if it beats the champion."""
    from .flows.schedule import ServerUnavailable, deploy_retraining, serve_retraining

    _params(params)  # a bad params file fails here, not in every scheduled run
    options = {"cron": cron, "interval": interval, "timezone": timezone,
               "state_path": str(state) if state else None}
    try:
        if pool:
            deployment_id = deploy_retraining(pool, params, **options)
            console.print(f"[green]deployment[/] {deployment_id} in work pool {pool!r}")
        else:
            serve_retraining(params, **options)
    except (ServerUnavailable, ValueError) as exc:
        _fail(str(exc))


@app.command("evaluate-metadata")
def evaluate_metadata(
    params: Path = ParamsOption,
    model: Path = typer.Option(None, help="Model to evaluate (default: the model stage's)."),
    reports: Path = Path("reports"),
) -> None:
    """Rank-1 / mAP on the EgoReID set without and with sensor-metadata pruning
    (paper 000 sec. 5, table 2); reports/metadata_metrics.json."""
    from .pipeline.evaluate_metadata import format_table
    from .tracking.stages import pipeline_key, run_evaluate_metadata

    p = _params(params)
    model = _model_of(p, model)
    out = _run_stage(run_evaluate_metadata, p, model, reports, pipeline_key(params))
    m = out.metrics
    typer.echo(format_table(m, str(model)))
    console.print(f"gallery shrink {m['gallery_shrink']:.1%}; next camera right "
                  f"{m['next_camera_accuracy']:.1%}, true next appearance kept "
                  f"{m['true_next_kept']:.1%} of {m['queries_with_next_appearance']} queries; "
                  f"not pruned: {m['skipped_missing_sensors']} (missing sensors), "
                  f"{m['skipped_no_candidate']} (no camera ahead)")


@app.command()
def stats(
    params: Path = ParamsOption,
    dataset: str = typer.Option("egoreid", help="Configured dataset: a key of `data` "
                                "(video, image, parsing, egoreid, ilids_vid, ...)."),
) -> None:
    """Paper 000 table-1 style counts of a configured dataset (IDs, tracklets, cameras,
    boxes, IDs shared between cameras, sensor metadata; images per split of a parsing set)."""
    from .data.statistics import dataset_statistics, format_statistics
    from .pipeline.common import read_configured

    p = _params(params)
    ref = getattr(p.data, dataset, None)
    if ref is None or not hasattr(ref, "name"):
        known = [f.name for f in dataclasses.fields(p.data)
                 if hasattr(getattr(p.data, f.name), "name")]
        _fail(f"unknown dataset {dataset!r}; use one of {', '.join(known)}")
    index = _run_stage(read_configured, ref)
    typer.echo(format_statistics(f"{ref.name} ({ref.root})", dataset_statistics(index)))


@app.command()
def export(
    params: Path = ParamsOption,
    model: Path = typer.Option(None, help="Model to export (default: the model stage's)."),
    out: Path = typer.Option(Path("models/export"), help="Folder of model.onnx (and model.engine)."),
    reports: Path = Path("reports"),
) -> None:
    """ONNX export (dynamic batch) with an ONNX Runtime parity check; a TensorRT engine
    where TensorRT and a GPU are present. Writes reports/export.json."""
    from .tracking.stages import pipeline_key, run_export

    p = _params(params)
    o = _run_stage(run_export, p, model, out, reports, pipeline_key(params))
    r = o.report
    console.print(f"[green]export[/] -> {escape(str(o.onnx_path))} (opset {r['opset']}, parity max |diff| "
                  f"{r['parity_max_abs_diff']:.2g} at batch {r['parity_batch_sizes']}); "
                  f"tensorrt: {r['tensorrt']}")


@app.command()
def benchmark(
    params: Path = ParamsOption,
    model: Path = typer.Option(None, help="Torch model file (default: the model stage's)."),
    onnx: Path = typer.Option(Path("models/export/model.onnx"), help="Its exported ONNX file."),
    reports: Path = Path("reports"),
) -> None:
    """Throughput (clips/s, frames/s) and latency (p50, p95) per backend and batch size;
    writes reports/benchmark.json."""
    from .export.benchmark import format_table
    from .tracking.stages import pipeline_key, run_benchmark

    p = _params(params)
    o = _run_stage(run_benchmark, p, model, onnx, reports, pipeline_key(params))
    console.print(format_table(o.result))


@app.command()
def tune(
    params: Path = ParamsOption,
    address: str = typer.Option(None, "--address", envvar="RAY_ADDRESS",
                                help="Ray cluster to run on (default: tune.address, else local)."),
    resume: bool = typer.Option(True, help="Resume the search of this configuration if "
                                "one was interrupted (finished trials are not rerun)."),
) -> None:
    """Ray Tune search over the `tune.stage` training stage (params.yaml `tune:`), scored on
    training identities held out for validation; best values -> reports/best_params.yaml."""
    from .hpo.search import SearchInterrupted, run_search

    p = _params(params)
    try:
        out = _run_stage(run_search, p, params, address=address, resume=resume)
    except SearchInterrupted as exc:
        console.print(str(exc), style="yellow", markup=False)
        raise typer.Exit(code=130)
    for row in out.trials:
        value = row.metrics.get(out.metric)
        shown = f"{value:.3f}" if isinstance(value, float) else "-"
        console.print(f"  {row.trial_id} {row.status:5} {out.metric} {shown}  {row.config}",
                      markup=False)
    console.print(f"[bold green]best {out.metric} {out.best_value:.3f}[/] -> "
                  f"{escape(str(out.best_params_path))} ({'resumed' if out.restored else 'new'} "
                  f"search {escape(str(out.name))})")


@app.command()
def summary(reports: Path = Path("reports")) -> None:
    """Rank-1 and mAP of the last pipeline run, the frames scored and each stage's timing
    (read from reports/*.json and reports/timing/)."""
    from rich.table import Table

    from .pipeline.summary import protocol_line, summary_rows, timing_rows

    rows = _run_stage(summary_rows, reports)
    if not rows:
        _fail(f"no evaluation report in {reports}/: run `dvc repro` first")
    table = Table("model / data", "rank-1", "mAP", title=f"vreid results ({reports}/)")
    for label, rank1, mean_ap in rows:
        table.add_row(label, f"{rank1:.1%}", f"{mean_ap:.1%}")
    console.print(table)
    protocol = _run_stage(protocol_line, reports)
    if protocol:
        console.print(protocol)
    timings = _run_stage(timing_rows, reports)
    if timings:
        table = Table("stage", "wall s", "clips/s", "tracklets/s", "frames/s",
                      title=f"stage timing ({reports}/timing/)")
        for stage, wall, clips, tracklets, frames in timings:
            table.add_row(stage, f"{wall:.1f}", _rate(clips), _rate(tracklets), _rate(frames))
        console.print(table)


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def main() -> None:  # pragma: no cover - console entry point
    sys.exit(app())


if __name__ == "__main__":  # pragma: no cover
    main()
