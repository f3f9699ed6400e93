"""`vreid`: one sub-command per pipeline stage (dvc.yaml calls these)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console

from .config import ConfigError, Params, load_params, to_flat_dict
from .data.index import DatasetFormatError
from .tracking.env import disable_telemetry

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Video-based person re-identification pipeline.")
console = Console()

ParamsOption = typer.Option(Path("params.yaml"), "--params", "-p", help="Hyper-parameter file.")


def _params(path: Path) -> Params:
    disable_telemetry()
    try:
        return load_params(path)
    except ConfigError as exc:
        _fail(str(exc))


def _fail(message: str) -> None:
    console.print(f"[bold red]error:[/] {message}")
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
    """Write the embedded synthetic MARS / Market-1501 / LIP sets."""
    from .pipeline.prepare import prepare as stage

    p = _params(params)
    out = _run_stage(stage, p)
    for name, counts in out.counts.items():
        console.print(f"[green]{name}[/] -> {out.root / name}: {counts}")


@app.command()
def validate(params: Path = ParamsOption, reports: Path = Path("reports")) -> None:
    """Great Expectations checks over every configured dataset; non-zero exit on failure."""
    from .pipeline.validate import validate as stage

    out = _run_stage(stage, _params(params), reports)
    console.print(f"[green]data valid[/]; report in {out.report_md}")


@app.command()
def train(
    params: Path = ParamsOption,
    out_dir: Path = typer.Option(Path("models/video"), help="Where model.pt is written."),
    checkpoints: Path = typer.Option(Path("checkpoints/video"), help="Per-epoch checkpoints."),
    resume: bool = typer.Option(True, help="Resume from the last matching checkpoint."),
) -> None:
    """Train the configured video model; log params, per-epoch metrics and the model."""
    import torch

    from .pipeline.train import train_video
    from .progress import RichProgressHook
    from .tracking import mlflow_run

    p = _params(params)
    with mlflow_run(p.tracking.experiment, "train_video", p.tracking.tracking_uri,
                    tags={"vreid.stage": "train_video"}) as logger:
        logger.log_params(to_flat_dict(p))
        hook = RichProgressHook(p.train.epochs)
        out = _run_stage(train_video, p, out_dir, checkpoints, logger, [hook], resume)
        logger.log_artifact(out.model_path)
        if p.tracking.log_model:
            from .pipeline.common import load_model

            model, _ = load_model(out.model_path)
            example = torch.zeros(1, p.input.clip_len, 3, p.input.height, p.input.width)
            logger.log_torch_model(model.eval(), example.numpy())
    console.print(f"[green]model[/] -> {out.model_path} ({out.epochs_run} epochs run, "
                  f"started at epoch {out.resumed_from_epoch})")


@app.command()
def evaluate(
    params: Path = ParamsOption,
    model: Path = typer.Option(Path("models/video/model.pt"), help="Model file to evaluate."),
    reports: Path = Path("reports"),
) -> None:
    """CMC / mAP / mINP on the configured video set's query and gallery."""
    from .pipeline.evaluate import evaluate as stage
    from .tracking import mlflow_run

    p = _params(params)
    with mlflow_run(p.tracking.experiment, "evaluate", p.tracking.tracking_uri,
                    tags={"vreid.stage": "evaluate", "vreid.model_path": str(model)}) as logger:
        logger.log_params(to_flat_dict(p.eval, "eval."))
        out = _run_stage(stage, p, model, reports, logger)
    m = out.metrics
    line = f"rank-1 {m['rank1']:.1%}  mAP {m['mAP']:.1%}"
    if "rr_rank1" in m:
        line += f"   re-ranked: rank-1 {m['rr_rank1']:.1%}  mAP {m['rr_mAP']:.1%}"
    if "untrained_rank1" in m:
        line += f"   (untrained: rank-1 {m['untrained_rank1']:.1%}  mAP {m['untrained_mAP']:.1%})"
    console.print(f"[bold green]{line}[/]")


def main() -> None:  # pragma: no cover - console entry point
    sys.exit(app())


if __name__ == "__main__":  # pragma: no cover
    main()
