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
ResumeOption = typer.Option(True, help="Resume from the last matching checkpoint.")


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


@app.command("pretrain-parsing")
def pretrain_parsing(params: Path = ParamsOption, resume: bool = ResumeOption) -> None:
    """Train the human parser on the configured LIP-layout set; report pixel acc / mIoU."""
    from .pipeline.pretrain_parsing import pretrain_parsing as stage
    from .progress import RichProgressHook
    from .tracking import mlflow_run

    p = _params(params)
    with mlflow_run(p.tracking.experiment, "pretrain_parsing", p.tracking.tracking_uri,
                    tags={"vreid.stage": "pretrain_parsing"},
                    parent_key=_pipeline_key(params)) as log:
        log.log_params({**to_flat_dict(p.parsing, "parsing."),
                        **to_flat_dict(p.data.parsing, "data.")})
        out = _run_stage(stage, p.parsing, p.data.parsing, p.runtime,
                         hooks=[RichProgressHook(p.parsing.epochs)], logger=log, resume=resume)
        _log_model(log, p, out.model_path, (1, 3, p.parsing.height, p.parsing.width))
    console.print(f"[green]parser[/] -> {out.model_path}: pixel acc {out.pixel_acc:.1%}, "
                  f"mIoU {out.mean_iou:.1%} on {out.metrics_path}")


# The re-ID training stages of the chain: command -> (params section, dataset attribute).
TRAIN_STAGES = {
    "pretrain-image": ("pretrain_image", "image"),
    "finetune-image": ("finetune_image", "video"),
    "train-video": ("train_video", "video"),
}


def _train_stage(params_path: Path, stage_name: str, data_attr: str, resume: bool) -> None:
    """Train one stage of the chain; log params, per-epoch metrics and the model to MLflow."""
    from .pipeline.train import train_reid
    from .progress import RichProgressHook
    from .tracking import mlflow_run

    p = _params(params_path)
    stage = getattr(p, stage_name)
    dataset = getattr(p.data, data_attr)
    with mlflow_run(p.tracking.experiment, stage_name, p.tracking.tracking_uri,
                    tags={"vreid.stage": stage_name}, parent_key=_pipeline_key(params_path)) as log:
        log.log_params({**to_flat_dict(stage), **to_flat_dict(dataset, "data.")})
        out = _run_stage(train_reid, stage, dataset, p.runtime, Path("models") / stage_name,
                         Path("checkpoints") / stage_name, log, [RichProgressHook(stage.train.epochs)],
                         resume)
        inp = stage.input
        _log_model(log, p, out.model_path, (1, inp.clip_len, 3, inp.height, inp.width))
    console.print(f"[green]{stage_name}[/] -> {out.model_path} ({out.epochs_run} epochs run, "
                  f"started at epoch {out.resumed_from_epoch})")


def _log_model(log, p: Params, model_path: Path, example_shape: tuple[int, ...]) -> None:
    """The model file as an artifact and, unless switched off, as an MLflow model."""
    log.log_artifact(model_path)
    if p.tracking.log_model:
        import torch

        from .pipeline.common import load_model

        model, _ = load_model(model_path)
        log.log_torch_model(model.eval(), torch.zeros(example_shape).numpy())


def _pipeline_key(params_path: Path) -> str:
    """Stage runs of one configuration nest under one MLflow pipeline run."""
    from .pipeline.fingerprint import file_digest

    return file_digest(params_path)[:16]


def _register_train_command(command: str, stage_name: str, data_attr: str) -> None:
    def command_fn(params: Path = ParamsOption, resume: bool = ResumeOption) -> None:
        _train_stage(params, stage_name, data_attr, resume)

    command_fn.__doc__ = (f"Train the `{stage_name}` stage on the configured {data_attr} set "
                          f"(models/{stage_name}/model.pt).")
    app.command(command)(command_fn)


for _command, (_stage, _data) in TRAIN_STAGES.items():
    _register_train_command(_command, _stage, _data)


@app.command()
def evaluate(
    params: Path = ParamsOption,
    model: Path = typer.Option(Path("models/train_video/model.pt"), help="Model to evaluate."),
    reports: Path = Path("reports"),
) -> None:
    """CMC / mAP / mINP on the configured video set's query and gallery."""
    from .pipeline.evaluate import evaluate as stage
    from .tracking import mlflow_run

    p = _params(params)
    with mlflow_run(p.tracking.experiment, "evaluate", p.tracking.tracking_uri,
                    tags={"vreid.stage": "evaluate", "vreid.model_path": str(model)},
                    parent_key=_pipeline_key(params)) as logger:
        logger.log_params(to_flat_dict(p.eval, "eval."))
        out = _run_stage(stage, p, model, reports, logger)
    m = out.metrics
    line = f"rank-1 {m['rank1']:.1%}  mAP {m['mAP']:.1%}"
    if "rr_rank1" in m:
        line += f"   re-ranked: rank-1 {m['rr_rank1']:.1%}  mAP {m['rr_mAP']:.1%}"
    if "untrained_rank1" in m:
        line += f"   (untrained: rank-1 {m['untrained_rank1']:.1%}  mAP {m['untrained_mAP']:.1%})"
    console.print(f"[bold green]{line}[/]")


@app.command()
def ablate(
    params: Path = ParamsOption,
    variant: list[str] = typer.Option(None, help="Variants to run (default: all of them)."),
) -> None:
    """EgoReID ablations (paper 000 tables 2-4): one MLflow run per variant and
    reports/egoreid_ablation.md. Needs the chain's parsing and fine-tuning models."""
    from .pipeline.ablation import VARIANTS, run_ablation
    from .tracking import mlflow_run

    p = _params(params)
    key = "ablation-" + _pipeline_key(params)

    def run_context(name: str):
        return mlflow_run(p.tracking.experiment, f"ablation: {name}", p.tracking.tracking_uri,
                          tags={"vreid.stage": "ablation", "vreid.variant": name},
                          parent_key=key)

    _run_stage(run_ablation, p, variant or list(VARIANTS), run_context=run_context)
    console.print(Path("reports/egoreid_ablation.md").read_text())


def main() -> None:  # pragma: no cover - console entry point
    sys.exit(app())


if __name__ == "__main__":  # pragma: no cover
    main()
